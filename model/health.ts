// The timings of a task's health check with the defaults of fields left at 0 filled in: one reading shared by the
// Borglet (what it probes) and the status page (what it says it probes).
import { HEALTH_FAILURES_DEFAULT, HEALTH_INTERVAL_MS_DEFAULT, HEALTH_TIMEOUT_MS_DEFAULT } from '../cells/limits';

export interface HealthTiming {
  intervalMs: number;
  /** timeoutMs: never above the interval. */
  timeoutMs: number;
  /** failuresBeforeRestart: failed probes in a row that restart the task. */
  failuresBeforeRestart: number;
}

export function healthTiming(h: { intervalMs: number; timeoutMs: number; failuresBeforeRestart: number }): HealthTiming {
  const intervalMs = h.intervalMs || HEALTH_INTERVAL_MS_DEFAULT;
  return { intervalMs, timeoutMs: Math.min(h.timeoutMs || HEALTH_TIMEOUT_MS_DEFAULT, intervalMs), failuresBeforeRestart: h.failuresBeforeRestart || HEALTH_FAILURES_DEFAULT };
}
