// Scorer `worst`: spread load, E-PVM-like (Amir et al.; B15 §3.2). E-PVM charges each machine a convex cost of
// its utilisation and places a task where the *increase* in cost is least. We use the quadratic cost u^2 per
// dimension (cheap, convex, the same ordering behaviour), so the marginal cost of adding r to utilisation u is
// r * (2u + r): small on empty and on large machines.
import { DIMS, type CellSnapshot } from '../snapshot';
import type { TaskClass } from '../task_class';
import { utilBefore } from './fit';

/** worstFit returns a score in [0, 1]; higher is better (less added cost). */
export function worstFit(snap: CellSnapshot, c: TaskClass, m: number): number {
  const b = m * DIMS;
  const capCpu = snap.cap[b] as number;
  const capRam = snap.cap[b + 1] as number;
  const uc = utilBefore(capCpu, snap.resAll[b] as number);
  const ur = utilBefore(capRam, snap.resAll[b + 1] as number);
  const rc = capCpu > 0 ? Math.min(1, c.needCpu / capCpu) : 1;
  const rr = capRam > 0 ? Math.min(1, c.needRam / capRam) : 1;
  const cost = rc * (2 * uc + rc) + rr * (2 * ur + rr);
  // cost is at most 3 per dimension (r = 1, u = 1); normalise to [0, 1].
  return 1 - cost / 6;
}
