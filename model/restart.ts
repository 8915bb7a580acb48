// The timings of a task's restart policy with the defaults of fields left at 0 filled in: one reading shared by the
// Borglet (restarts in place), the state machine (placements again) and the status page (what it says they do).
import { RESTART_BACKOFF_INITIAL_MS_DEFAULT, RESTART_BACKOFF_MAX_MS_DEFAULT, RESTART_RESET_AFTER_MS_DEFAULT } from '../cells/limits';

export interface RestartTiming {
  /** backoffInitialMs: the first back-off; each failure in a row doubles it, up to backoffMaxMs. */
  backoffInitialMs: number;
  backoffMaxMs: number;
  /** resetAfterMs: a run at least this long forgives the failures before it. */
  resetAfterMs: number;
}

/** restartTiming reads a RestartPolicy's timings (absent or 0: the defaults; the maximum never below the first). */
export function restartTiming(p: { backoffInitialMs: number; backoffMaxMs: number; resetAfterMs: number } | undefined): RestartTiming {
  const backoffInitialMs = p?.backoffInitialMs || RESTART_BACKOFF_INITIAL_MS_DEFAULT;
  return {
    backoffInitialMs,
    backoffMaxMs: Math.max(backoffInitialMs, p?.backoffMaxMs || RESTART_BACKOFF_MAX_MS_DEFAULT),
    resetAfterMs: p?.resetAfterMs || RESTART_RESET_AFTER_MS_DEFAULT,
  };
}

/** backoffAfter: the back-off after `failures` failed runs in a row (1 for the first), doubling from the first. */
export function backoffAfter(t: RestartTiming, failures: number): number {
  return Math.min(t.backoffMaxMs, t.backoffInitialMs * 2 ** Math.min(40, Math.max(0, failures - 1)));
}
