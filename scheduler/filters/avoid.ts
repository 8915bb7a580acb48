// Feasibility filter: avoided task::machine pairings. A task that crashed on a machine, or crashed it, is not put
// back there until the pairing expires (B15 §3.2). Pairings are per task, not per class, so this filter runs when
// a task picks among its class's candidates, not in the shared class evaluation.
import type { CellSnapshot } from '../snapshot';

export const REASON_AVOIDED_PAIRING = 'avoided task::machine pairing';
export const CODE_AVOIDED_PAIRING = 10;

/** avoidFilter returns 0 when the task may go to slot m at nowMs, else the reason code. */
export function avoidFilter(snap: CellSnapshot, taskId: number, m: number, nowMs: number): number {
  return snap.avoids(taskId, m, nowMs) ? CODE_AVOIDED_PAIRING : 0;
}
