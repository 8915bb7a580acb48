// PauseMonitor measures what a request on this replica may wait behind, into /metrics: how late a periodic timer
// fires (event-loop lag: a long apply, a burst of poll replies, a GC pause, or a host that gives the process no
// CPU) and every GC pause by kind. It is the evidence for a latency tail: the cell benchmark reads both from the
// elected master while it times CreateJob. IO at the edge: a timer and a PerformanceObserver, stopped by stop().
import { PerformanceObserver, constants, type PerformanceEntry } from 'node:perf_hooks';
import type { BorgMetrics } from './metrics';

/** LAG_TICK_MS: the timer's period (20 wake-ups a second; lag below a tick is sampled, above it is seen whole). */
const LAG_TICK_MS = 50;

function gcKind(entry: PerformanceEntry): string {
  // Node 16+ puts the GC kind in entry.detail (typed only on the subclass it does not export).
  const detail: unknown = (entry as PerformanceEntry & { detail?: unknown }).detail;
  const kind = typeof detail === 'object' && detail !== null && 'kind' in detail ? detail.kind : undefined;
  switch (kind) {
    case constants.NODE_PERFORMANCE_GC_MINOR:
      return 'minor';
    case constants.NODE_PERFORMANCE_GC_MAJOR:
      return 'major';
    case constants.NODE_PERFORMANCE_GC_INCREMENTAL:
      return 'incremental';
    case constants.NODE_PERFORMANCE_GC_WEAKCB:
      return 'weakcb';
    default:
      return 'other';
  }
}

export class PauseMonitor {
  private timer: NodeJS.Timeout | undefined;
  private observer: PerformanceObserver | undefined;

  constructor(private readonly metrics: BorgMetrics) {}

  start(): void {
    if (this.timer !== undefined) return;
    let expected = performance.now() + LAG_TICK_MS;
    this.timer = setInterval(() => {
      const now = performance.now();
      this.metrics.observeLoopLag(Math.max(0, now - expected) / 1000);
      expected = now + LAG_TICK_MS;
    }, LAG_TICK_MS);
    this.timer.unref();
    this.observer = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) this.metrics.observeGcPause(gcKind(e), e.duration / 1000);
    });
    this.observer.observe({ entryTypes: ['gc'] });
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.observer?.disconnect();
    this.observer = undefined;
  }
}
