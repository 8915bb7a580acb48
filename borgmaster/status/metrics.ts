// BorgMetrics is a replica's /metrics (Prometheus text format, prom-client). Each instance has its own Registry,
// so several replicas in one process (tests, the simulator) never share or collide. Components record what they
// time and count through the typed methods; cell-wide gauges (pending by band, allocation and usage per band,
// machines by state) are computed from the state at scrape time, so they can never drift from it.
import { getHeapSpaceStatistics } from 'node:v8';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { assert } from '../../model/assert';
import { STATUS_PASS_WINDOW } from '../../cells/limits';
import type { CellSummary, PassLatency } from './source';

/** Latency buckets in seconds: 0.5 ms to 30 s, covering a Paxos commit on loopback up to a full-cell pass. */
const LATENCY_BUCKETS_S = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/** Poll interval buckets: link shards poll every few seconds; long gaps mean a slow or partitioned Borglet. */
const POLL_INTERVAL_BUCKETS_S = [0.25, 0.5, 1, 2, 3, 5, 10, 20, 30, 60];

const RESOURCE_LABELS = [
  ['cpu_millis', 'cpuMillis'],
  ['ram_bytes', 'ramBytes'],
  ['disk_bytes', 'diskBytes'],
  ['ports', 'ports'],
] as const;

/** PassWindow keeps the durations of the last STATUS_PASS_WINDOW scheduler passes for percentiles. */
export class PassWindow {
  private readonly ring: number[] = [];
  private next = 0;
  private total = 0;

  constructor(readonly capacity = STATUS_PASS_WINDOW) {
    assert(Number.isInteger(capacity) && capacity > 0, 'PassWindow capacity must be positive');
  }

  add(seconds: number): void {
    if (this.ring.length < this.capacity) this.ring.push(seconds);
    else this.ring[this.next] = seconds;
    this.next = (this.next + 1) % this.capacity;
    this.total++;
  }

  latency(): PassLatency {
    if (this.ring.length === 0) return { count: 0, lastSeconds: undefined, p50Seconds: undefined, p99Seconds: undefined, maxSeconds: undefined };
    const sorted = [...this.ring].sort((a, b) => a - b);
    const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
    const last = this.ring[(this.next - 1 + this.capacity) % this.capacity];
    return { count: this.total, lastSeconds: last, p50Seconds: at(0.5), p99Seconds: at(0.99), maxSeconds: sorted[sorted.length - 1] };
  }
}

function checkSeconds(seconds: number, what: string): void {
  assert(Number.isFinite(seconds) && seconds >= 0, `${what} must be a finite non-negative number of seconds, got ${seconds}`);
}

function checkCount(n: number, what: string): void {
  assert(Number.isSafeInteger(n) && n >= 0, `${what} must be a non-negative integer, got ${n}`);
}

export interface BorgMetricsOptions {
  /** summary gives the cell summary at scrape time (usually StatusSource.summary); without it no cell gauges. */
  summary?: () => CellSummary;
  /** labels added to every series, e.g. { replica: '1', cell: 'local' }. */
  labels?: Record<string, string>;
}

export class BorgMetrics {
  readonly registry = new Registry();
  readonly passes = new PassWindow();
  private readonly pass: Histogram;
  private readonly placement: Histogram;
  private readonly commit: Histogram;
  private readonly pollInterval: Histogram;
  private readonly polls: Counter<'result'>;
  private readonly preemptions: Counter;
  private readonly oomKills: Counter;
  private readonly logIndex: Gauge;
  private readonly loopLag: Histogram;
  private readonly gcPause: Histogram<'kind'>;
  private summaryFn: (() => CellSummary) | undefined;

  constructor(options: BorgMetricsOptions = {}) {
    this.summaryFn = options.summary;
    if (options.labels !== undefined) this.registry.setDefaultLabels(options.labels);
    const registers = [this.registry];
    this.pass = new Histogram({ name: 'borg_scheduler_pass_seconds', help: 'Duration of one scheduler pass over the pending queue.', buckets: LATENCY_BUCKETS_S, registers });
    this.placement = new Histogram({
      name: 'borg_scheduler_placement_seconds',
      help: 'Time from a task becoming pending to its placement being committed.',
      buckets: [...LATENCY_BUCKETS_S, 60, 300, 900, 3600],
      registers,
    });
    this.commit = new Histogram({ name: 'borg_paxos_commit_seconds', help: 'Time from proposing a command to its being chosen.', buckets: LATENCY_BUCKETS_S, registers });
    this.pollInterval = new Histogram({ name: 'borg_link_poll_interval_seconds', help: 'Time between two successive polls of one Borglet.', buckets: POLL_INTERVAL_BUCKETS_S, registers });
    this.polls = new Counter({ name: 'borg_link_polls_total', help: 'Borglet polls by result.', labelNames: ['result'], registers });
    this.preemptions = new Counter({ name: 'borg_preemptions_total', help: 'Tasks evicted to make room for higher-priority tasks.', registers });
    this.oomKills = new Counter({ name: 'borg_oom_kills_total', help: 'Tasks killed by the kernel OOM killer, as reported by Borglets.', registers });
    // Pauses of the process (PauseMonitor feeds them): what any request on this replica may wait behind.
    this.loopLag = new Histogram({ name: 'borg_event_loop_lag_seconds', help: 'How late a periodic timer fired: the event loop was busy, paused by GC, or not given a CPU.', buckets: LATENCY_BUCKETS_S, registers });
    this.gcPause = new Histogram({ name: 'borg_gc_pause_seconds', help: 'Garbage collection pauses of this process, by kind (minor, major, incremental, weakcb).', labelNames: ['kind'], buckets: LATENCY_BUCKETS_S, registers });
    this.logIndex = new Gauge({ name: 'borg_paxos_log_index', help: 'Highest log index this replica knows chosen.', registers });
    // The process's memory, read at scrape time (the cell benchmark derives the master's bytes per task from it).
    new Gauge({
      name: 'borg_process_memory_bytes',
      help: 'Memory of this replica process (rss, heap_used, heap_total, external, array_buffers).',
      labelNames: ['kind'],
      registers,
      collect() {
        const m = process.memoryUsage();
        this.set({ kind: 'rss' }, m.rss);
        this.set({ kind: 'heap_used' }, m.heapUsed);
        this.set({ kind: 'heap_total' }, m.heapTotal);
        this.set({ kind: 'external' }, m.external);
        this.set({ kind: 'array_buffers' }, m.arrayBuffers);
      },
    });
    // Per V8 space: where heap_total goes beyond heap_used (young generation, fragmentation of old space, code).
    new Gauge({
      name: 'borg_process_heap_space_bytes',
      help: 'V8 heap spaces of this replica process: committed size and bytes used by objects.',
      labelNames: ['space', 'kind'],
      registers,
      collect() {
        for (const s of getHeapSpaceStatistics()) {
          this.set({ space: s.space_name, kind: 'size' }, s.space_size);
          this.set({ space: s.space_name, kind: 'used' }, s.space_used_size);
        }
      },
    });

    // Cell gauges: one collect() computes the summary once per scrape and sets every cell series from it. It
    // hangs on the first cell gauge registered, because the registry serialises metrics in registration order.
    const collectCell = (): void => {
      const s = this.summaryFn?.();
      if (s === undefined) return;
      applied.set(s.appliedIndex);
      jobs.set(s.jobs);
      for (const [band, n] of Object.entries(s.pendingByBand)) pending.set({ band }, n);
      for (const [state, n] of Object.entries(s.tasks)) tasks.set({ state }, n);
      unhealthy.set(s.unhealthy);
      for (const [state, n] of Object.entries(s.machines)) machines.set({ state }, n);
      for (const [label, key] of RESOURCE_LABELS) {
        capacity.set({ resource: label }, s.capacity[key]);
        for (const b of s.bands) {
          allocated.set({ band: b.band, resource: label, kind: 'limit' }, b.limit[key]);
          allocated.set({ band: b.band, resource: label, kind: 'reservation' }, b.reservation[key]);
          usage.set({ band: b.band, resource: label }, b.usage[key]);
        }
      }
    };
    const applied = new Gauge({ name: 'borg_state_applied_index', help: 'Log index of the last command applied to the cell state.', registers, collect: collectCell });
    const pending = new Gauge({ name: 'borg_pending_tasks', help: 'Pending tasks by priority band.', labelNames: ['band'], registers });
    const tasks = new Gauge({ name: 'borg_tasks', help: 'Tasks by state.', labelNames: ['state'], registers });
    const unhealthy = new Gauge({ name: 'borg_tasks_unhealthy', help: 'Running tasks their Borglets do not report healthy (not started yet, or failing their health check).', registers });
    const machines = new Gauge({ name: 'borg_machines', help: 'Machines by state.', labelNames: ['state'], registers });
    const capacity = new Gauge({ name: 'borg_capacity', help: 'Capacity of machines that are not DOWN.', labelNames: ['resource'], registers });
    const allocated = new Gauge({
      name: 'borg_allocated',
      help: 'Resources allocated to running tasks by priority band; kind=limit (asked for) or reservation (estimated need).',
      labelNames: ['band', 'resource', 'kind'],
      registers,
    });
    const usage = new Gauge({ name: 'borg_usage', help: 'Latest sampled usage of running tasks by priority band.', labelNames: ['band', 'resource'], registers });
    const jobs = new Gauge({ name: 'borg_jobs', help: 'Jobs in the cell.', registers });
  }

  /** bindSummary sets (or replaces) where the scrape-time cell gauges come from. */
  bindSummary(summary: () => CellSummary): void {
    this.summaryFn = summary;
  }

  /** observePass records one scheduler pass (the scheduler reports its duration with each plan). */
  observePass(seconds: number): void {
    checkSeconds(seconds, 'pass duration');
    this.pass.observe(seconds);
    this.passes.add(seconds);
  }

  /** observePlacement records how long a task waited from pending to committed placement. */
  observePlacement(seconds: number): void {
    checkSeconds(seconds, 'placement latency');
    this.placement.observe(seconds);
  }

  /** observeCommit records one Paxos proposal's time to be chosen. */
  observeCommit(seconds: number): void {
    checkSeconds(seconds, 'commit latency');
    this.commit.observe(seconds);
  }

  /** observePoll records one Borglet poll: its result and the time since the previous poll of that machine. */
  observePoll(intervalSeconds: number, result: 'ok' | 'error' | 'timeout' = 'ok'): void {
    checkSeconds(intervalSeconds, 'poll interval');
    this.pollInterval.observe(intervalSeconds);
    this.polls.inc({ result });
  }

  setLogIndex(n: number): void {
    checkCount(n, 'log index');
    this.logIndex.set(n);
  }

  countPreemptions(n: number): void {
    checkCount(n, 'preemptions');
    if (n > 0) this.preemptions.inc(n);
  }

  countOomKills(n: number): void {
    checkCount(n, 'OOM kills');
    if (n > 0) this.oomKills.inc(n);
  }

  observeLoopLag(seconds: number): void {
    this.loopLag.observe(seconds);
  }

  observeGcPause(kind: string, seconds: number): void {
    this.gcPause.observe({ kind }, seconds);
  }

  passLatency(): PassLatency {
    return this.passes.latency();
  }

  contentType(): string {
    return this.registry.contentType;
  }

  /** text renders every series in the Prometheus text format (computes the cell gauges now). */
  text(): Promise<string> {
    return this.registry.metrics();
  }
}
