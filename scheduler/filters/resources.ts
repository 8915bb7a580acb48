// Feasibility filter: cpu, ram and disk, against what the candidate may use after preempting everything it is
// allowed to (charged.ts computes that vector; this filter only compares). The first short dimension, in the
// order cpu, ram, disk, is the reason reported.
import { DIMS, type CellSnapshot } from '../snapshot';
import { CODE_INSUFFICIENT_PORTS } from './ports';
import type { TaskClass } from '../task_class';

export const REASON_INSUFFICIENT_CPU = 'insufficient cpu';
export const REASON_INSUFFICIENT_RAM = 'insufficient ram';
export const REASON_INSUFFICIENT_DISK = 'insufficient disk';
export const CODE_INSUFFICIENT_CPU = 3;
export const CODE_INSUFFICIENT_RAM = 4;
export const CODE_INSUFFICIENT_DISK = 5;

/** resourcesFilter returns 0 when need fits `available` (cpu, ram, disk at indices 0..2), else the reason code. */
export function resourcesFilter(c: TaskClass, available: Float64Array): number {
  if (c.needCpu > (available[0] as number)) return CODE_INSUFFICIENT_CPU;
  if (c.needRam > (available[1] as number)) return CODE_INSUFFICIENT_RAM;
  if (c.needDisk > (available[2] as number)) return CODE_INSUFFICIENT_DISK;
  return 0;
}

/**
 * freeShortfall is the reason code when the class may evict nothing on slot m: the first dimension in which the
 * request exceeds capacity minus reservations (ports included). The caller knows the plain fit failed.
 */
export function freeShortfall(snap: CellSnapshot, c: TaskClass, m: number): number {
  const b = m * DIMS;
  const cap = snap.cap;
  const res = snap.resAll;
  if (c.needCpu > (cap[b] as number) - (res[b] as number)) return CODE_INSUFFICIENT_CPU;
  if (c.needRam > (cap[b + 1] as number) - (res[b + 1] as number)) return CODE_INSUFFICIENT_RAM;
  if (c.needDisk > (cap[b + 2] as number) - (res[b + 2] as number)) return CODE_INSUFFICIENT_DISK;
  return CODE_INSUFFICIENT_PORTS;
}
