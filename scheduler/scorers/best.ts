// Scorer `best`: pack tightly (B15 §3.2). The fuller a machine would be after the placement, the better, so
// empty machines stay empty for large tasks; the cost is that one dimension often fills while the other strands.
import type { CellSnapshot } from '../snapshot';
import type { TaskClass } from '../task_class';
import { cpuRamAfter } from './fit';

const u = new Float64Array(2);

/** bestFit returns the mean cpu/ram utilisation after placement, in [0, 1]. */
export function bestFit(snap: CellSnapshot, c: TaskClass, m: number): number {
  cpuRamAfter(snap, c, m, u);
  return ((u[0] as number) + (u[1] as number)) / 2;
}
