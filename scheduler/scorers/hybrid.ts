// Scorer `hybrid`: Borg's production policy (B15 §3.2): pack, but keep the machine's free resources in the shape
// the workload needs, so that no dimension is left unusable because another filled up ("stranded" resources).
// After the placement, free cpu and free ram fractions should stay level (scaled by the workload's shape, the
// ratio of its cpu to ram demand against capacity); the score is best-fit packing minus that imbalance.
import type { CellSnapshot } from '../snapshot';
import type { TaskClass } from '../task_class';
import { cpuRamAfter } from './fit';

const u = new Float64Array(2);

/** HYBRID_BALANCE_WEIGHT: how much one unit of free-fraction imbalance costs against one unit of packing. */
export const HYBRID_BALANCE_WEIGHT = 2;

/**
 * hybridFit returns packing minus stranding, in about [-2, 1]. `ramPerCpu` is the workload's shape: how fast
 * ram fills relative to cpu (demand ram fraction / demand cpu fraction); 1 treats the two alike.
 */
export function hybridFit(snap: CellSnapshot, c: TaskClass, m: number, ramPerCpu: number): number {
  cpuRamAfter(snap, c, m, u);
  const freeCpu = 1 - (u[0] as number);
  const freeRam = 1 - (u[1] as number);
  const pack = ((u[0] as number) + (u[1] as number)) / 2;
  // Free ram is worth freeRam / ramPerCpu "cpu-shaped" units: when the two differ, the surplus is stranded.
  const stranded = Math.abs(freeCpu - freeRam / ramPerCpu);
  return pack - HYBRID_BALANCE_WEIGHT * stranded;
}
