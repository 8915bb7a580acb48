// A task's health check read one way by all: its timings with the defaults of fields left at 0 filled in (the
// Borglet probes by them, the status page shows them) and what it probes (status page, health events).
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

/** probeText: what a health check asks for, as people read it. */
export function probeText(h: { httpPath: string; portIndex: number }): string {
  return `GET ${h.httpPath} on port index ${h.portIndex}`;
}
