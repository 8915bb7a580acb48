// Shared arithmetic of the fit scorers: utilisation of cpu and ram on slot m after adding the class's request,
// in [0, 1]. A dimension with zero capacity counts as full, so it never looks attractive.
import { DIMS, type CellSnapshot } from '../snapshot';
import type { TaskClass } from '../task_class';

export function utilAfter(cap: number, used: number, need: number): number {
  if (cap <= 0) return 1;
  const u = (used + need) / cap;
  return u > 1 ? 1 : u < 0 ? 0 : u;
}

export function utilBefore(cap: number, used: number): number {
  if (cap <= 0) return 1;
  const u = used / cap;
  return u > 1 ? 1 : u < 0 ? 0 : u;
}

/** cpuRamAfter writes cpu and ram utilisation after placement into out[0], out[1]. */
export function cpuRamAfter(snap: CellSnapshot, c: TaskClass, m: number, out: Float64Array): void {
  const b = m * DIMS;
  out[0] = utilAfter(snap.cap[b] as number, snap.resAll[b] as number, c.needCpu);
  out[1] = utilAfter(snap.cap[b + 1] as number, snap.resAll[b + 1] as number, c.needRam);
}
