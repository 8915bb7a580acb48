// Scorer: mix prod and non-prod on a machine (B15 §5.5). Non-prod lives in resources reclaimed from prod, and
// prod has headroom when it shares a machine with evictable work, so a prod task prefers machines carrying
// non-prod load and a non-prod task prefers machines whose prod limits will be partly reclaimed.
import { DIMS, type CellSnapshot } from '../snapshot';
import type { TaskClass } from '../task_class';

/** prodMixing returns a score in [0, 1]: the share of the machine's cpu held by the *other* kind of work. */
export function prodMixing(snap: CellSnapshot, c: TaskClass, m: number): number {
  const b = m * DIMS;
  const cap = snap.cap[b] as number;
  if (cap <= 0) return 0;
  const other = c.prod ? (snap.resAll[b] as number) - (snap.prodRes[b] as number) : (snap.prodLimit[b] as number);
  const f = other / cap;
  return f > 1 ? 1 : f < 0 ? 0 : f;
}
