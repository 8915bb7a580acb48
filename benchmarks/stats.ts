// Figures the benchmarks share.
import { assert } from '../model/assert';

/** percentile by nearest rank (the 90th of 11 trials is the 10th smallest; the 99th of 100 passes the 2nd largest). */
export function percentile(xs: readonly number[], p: number): number {
  assert(xs.length > 0, 'percentile of nothing');
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] as number;
}
