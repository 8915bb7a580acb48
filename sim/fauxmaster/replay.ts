// Loading a workload into the Fauxmaster and stepping it through virtual time: arrivals become CreateJob commands,
// departures the transitions a Borglet would report (FINISH, FAIL, KILL), reservations are reported by the
// simulated Borglets once a task has run long enough (B15 §5.5), and the real scheduler runs every pass interval.
import { join } from 'node:path';
import { MAX_TRANSITIONS_PER_COMMAND } from '../../cells/limits';
import { assert } from '../../model/assert';
import { InvalidArgument } from '../../model/errors';
import { bandOf } from '../../model/priority';
import { add, type Resources } from '../../model/resources';
import { bandKey, bodies, jobDemand } from '../../borgmaster/state/index';
import { EventType, PriorityBand, TaskState, type JobSpec, type TaskTransition } from '../../proto/index';
import type { Workload, WorkloadTask } from '../../benchmarks/workloads/types';
import { readLines } from '../../benchmarks/workloads/lines';
import { DEFAULT_TRACE_SCALE, tracePriority, type TraceScale } from '../../benchmarks/workloads/google_2011';
import { endTransition, Fauxmaster, type FauxmasterOptions } from './fauxmaster';
import { jobsFor, machineBodies, quotaBodies, workloadKey, type TaskRef } from './workload_cell';

/** ReplayEvent: an arrival (a task submitted) or a departure (a task that ended in the trace) at a workload time. */
export type ReplayEvent = { timeMs: number; kind: 'submit'; task: WorkloadTask } | { timeMs: number; kind: 'end'; key: string; event: EventType.FINISH | EventType.FAIL | EventType.KILL };

/** ReclaimModel: what a simulated Borglet reports as a task's reservation once it has run `afterMs` (a fraction of its limit). */
export interface ReclaimModel {
  afterMs: number;
  cpuFraction: number;
  ramFraction: number;
}
/** DEFAULT_RECLAIM: 300 s (B15 §5.5), and the compaction benchmark's reservation model (0.45 CPU, 0.70 RAM). */
export const DEFAULT_RECLAIM: Readonly<ReclaimModel> = Object.freeze({ afterMs: 300_000, cpuFraction: 0.45, ramFraction: 0.7 });

export interface StepSample {
  timeMs: number;
  running: number;
  pending: number;
  dead: number;
  /** cumulative since load: */
  placed: number;
  evicted: number;
  arrived: number;
  departed: number;
}

export interface StepReport {
  samples: StepSample[];
  /** skipped: replay events that changed nothing, counted by reason (resubmissions, ends of unknown tasks...). */
  skipped: Record<string, number>;
  /** refused: arrivals the master refused at admission (its message), counted. */
  refused: Record<string, number>;
}

/** LoadedCell: a Fauxmaster on a workload, the workload's task names mapped to the cell's, and the events to replay. */
export class CellReplay {
  private cursor = 0;
  private readonly reclaimQueue: { dueMs: number; taskId: string; machine: string; startMs: number }[] = [];
  private reclaimHead = 0;
  private readonly totals = { placed: 0, evicted: 0, arrived: 0, departed: 0 };
  private readonly skipped: Record<string, number> = {};
  private readonly refused: Record<string, number> = {};

  constructor(
    readonly faux: Fauxmaster,
    private readonly refs: Map<string, TaskRef>,
    private readonly events: readonly ReplayEvent[],
    readonly options: { passIntervalMs: number; reclaim: ReclaimModel | undefined },
  ) {
    assert(options.passIntervalMs > 0, 'pass interval is positive');
    // Tasks already running (a loaded checkpoint, a cell scheduled before the replay) get their reservations
    // reported on the same schedule as the ones placed later: afterMs after they started.
    const m = options.reclaim;
    if (m !== undefined) {
      const due: { dueMs: number; taskId: string; machine: string; startMs: number }[] = [];
      for (const t of faux.tasks()) {
        if (t.state === TaskState.RUNNING && t.machine !== undefined && t.reservation === undefined) due.push({ dueMs: t.startTimeMs + m.afterMs, taskId: t.id, machine: t.machine.name, startMs: t.startTimeMs });
      }
      due.sort((a, b) => a.dueMs - b.dueMs || a.taskId.localeCompare(b.taskId));
      for (const d of due) this.reclaimQueue.push(d);
    }
    for (let i = 1; i < events.length; i++) assert((events[i - 1] as ReplayEvent).timeMs <= (events[i] as ReplayEvent).timeMs, 'replay events in time order');
  }

  get pendingEvents(): number {
    return this.events.length - this.cursor;
  }

  /** taskIdOf: the cell's task id of a workload task (user/job/index as in the workload). */
  taskIdOf(key: string): string | undefined {
    const r = this.refs.get(key);
    return r === undefined ? undefined : `${this.faux.state.cell}/${r.user}/${r.job}/${r.index}`;
  }

  /** schedule runs the scheduler now and counts what it placed and evicted. */
  async schedule(): Promise<void> {
    const { events } = await this.faux.record(() => this.faux.schedule());
    this.count(events);
  }

  private count(events: readonly { type: EventType; taskId: string; machine: string; timeMs: number }[]): void {
    for (const e of events) {
      if (e.type === EventType.SCHEDULE) {
        this.totals.placed++;
        if (this.options.reclaim !== undefined) this.reclaimQueue.push({ dueMs: e.timeMs + this.options.reclaim.afterMs, taskId: e.taskId, machine: e.machine, startMs: e.timeMs });
      } else if (e.type === EventType.EVICT && e.machine !== '') this.totals.evicted++;
    }
  }

  sample(): StepSample {
    const c = this.faux.counts();
    return { timeMs: this.faux.clock.nowMs(), running: c.running, pending: c.pending, dead: c.dead, ...this.totals };
  }

  /**
   * step advances virtual time to untilMs: the events up to each pass boundary are applied at their own times,
   * then due reservations are reported and the scheduler runs. onSample sees the cell every `sampleEveryMs`.
   */
  async step(untilMs: number, sampleEveryMs: number, onSample?: (s: StepSample) => void): Promise<StepReport> {
    const samples: StepSample[] = [];
    const clock = this.faux.clock;
    if (untilMs < clock.nowMs()) throw new InvalidArgument('--until', `${untilMs} ms is before the cell's time ${clock.nowMs()} ms`);
    let nextSample = clock.nowMs();
    const push = (): void => {
      const s = this.sample();
      samples.push(s);
      onSample?.(s);
    };
    for (;;) {
      if (clock.nowMs() >= nextSample) {
        push();
        nextSample = clock.nowMs() + sampleEveryMs;
      }
      if (clock.nowMs() >= untilMs) break;
      const tick = Math.min(untilMs, (Math.floor(clock.nowMs() / this.options.passIntervalMs) + 1) * this.options.passIntervalMs);
      while (this.cursor < this.events.length && (this.events[this.cursor] as ReplayEvent).timeMs <= tick) {
        const at = (this.events[this.cursor] as ReplayEvent).timeMs;
        if (at > clock.nowMs()) clock.advance(at - clock.nowMs());
        this.applyEventsAt(at);
      }
      clock.advance(tick - clock.nowMs());
      this.reportReservations();
      await this.schedule();
    }
    if (samples[samples.length - 1]?.timeMs !== clock.nowMs()) push();
    return { samples, skipped: { ...this.skipped }, refused: { ...this.refused } };
  }

  /** applyEventsAt applies every event at time `at`: arrivals batched per job into CreateJobs, then departures. */
  private applyEventsAt(at: number): void {
    const arrivals: WorkloadTask[] = [];
    const ends: TaskTransition[] = [];
    for (; this.cursor < this.events.length; this.cursor++) {
      const e = this.events[this.cursor] as ReplayEvent;
      if (e.timeMs !== at) break;
      if (e.kind === 'submit') {
        // A task the trace submits again: if it is dead here (finished or killed) it is new work and arrives as
        // a new task; if it is pending or running, the cell's restart policy already brought it back.
        const known = this.taskIdOf(workloadKey(e.task));
        const state = known === undefined ? undefined : this.faux.state.getTaskIfValid(known)?.state;
        if (state === undefined || state === TaskState.DEAD) arrivals.push(e.task);
        else countKey(this.skipped, 'resubmission of a task pending or running here (the restart policy brought it back)');
        continue;
      }
      const id = this.taskIdOf(e.key);
      const t = id === undefined ? undefined : this.faux.state.getTaskIfValid(id);
      if (t === undefined) {
        countKey(this.skipped, 'end of a task the cell does not have');
        continue;
      }
      if (t.state === TaskState.RUNNING) ends.push(endTransition(t, e.event, `${EventType[e.event]} in the replayed workload`));
      else if (t.state === TaskState.PENDING) ends.push({ ...endTransition(t, EventType.KILL, `${EventType[e.event]} in the replayed workload before it ran here`), machine: '' });
      else countKey(this.skipped, 'end of a task already dead here');
    }
    if (arrivals.length > 0) this.submit(arrivals, at);
    if (ends.length > 0) {
      const { value: r, events } = this.faux.recordSync(() => this.faux.applyTransitions(ends));
      this.count(events);
      this.totals.departed += r.accepted;
      for (const x of r.rejected) countKey(this.skipped, `end refused by the master: ${x.reason}`);
    }
  }

  /** submit creates the arrived tasks' jobs; a job name taken by an earlier submission gets the arrival time as suffix. */
  private submit(tasks: WorkloadTask[], at: number): void {
    const jobs = jobsFor(this.faux.state.cell, tasks, '');
    const renamed = jobs.specs.some((s) => this.faux.state.getJob(s.user, s.name) !== undefined) ? jobsFor(this.faux.state.cell, tasks, `-t${at}`) : jobs;
    renamed.specs.forEach((spec) => {
      const taken = this.faux.state.getJob(spec.user, spec.name) !== undefined;
      if (taken) {
        countKey(this.refused, `job name ${spec.user}/${spec.name} taken`);
        return;
      }
      grantQuota(this.faux, spec);
      const r = this.faux.apply(bodies.createJob(spec));
      if (!r.ok) {
        countKey(this.refused, r.errorMessage.replace(/\d+(\.\d+)?/g, 'N'));
        return;
      }
      this.totals.arrived += spec.taskCount;
    });
    for (const [k, ref] of renamed.refs) if (this.faux.state.getJob(ref.user, ref.job) !== undefined) this.refs.set(k, ref);
  }

  /** reportReservations: the simulated Borglets' estimates for tasks that have now run afterMs (only while still placed there). */
  private reportReservations(): void {
    const m = this.options.reclaim;
    if (m === undefined) return;
    const now = this.faux.clock.nowMs();
    const updates: { taskId: string; machine: string; reservation: Resources }[] = [];
    while (this.reclaimHead < this.reclaimQueue.length && (this.reclaimQueue[this.reclaimHead] as { dueMs: number }).dueMs <= now) {
      const q = this.reclaimQueue[this.reclaimHead++] as { taskId: string; machine: string; startMs: number };
      const t = this.faux.state.getTaskIfValid(q.taskId);
      if (t === undefined || t.state !== TaskState.RUNNING || t.machine?.name !== q.machine || t.startTimeMs !== q.startMs) continue;
      const l = t.spec.requirements;
      if (l === undefined) continue;
      updates.push({ taskId: t.id, machine: q.machine, reservation: { cpuMillis: Math.ceil(l.cpuMillis * m.cpuFraction), ramBytes: Math.ceil(l.ramBytes * m.ramFraction), diskBytes: l.diskBytes, ports: l.ports } });
    }
    if (this.reclaimHead > 4096 && this.reclaimHead * 2 > this.reclaimQueue.length) {
      this.reclaimQueue.splice(0, this.reclaimHead);
      this.reclaimHead = 0;
    }
    for (let i = 0; i < updates.length; i += MAX_TRANSITIONS_PER_COMMAND) this.faux.mustApply(bodies.reservations(updates.slice(i, i + MAX_TRANSITIONS_PER_COMMAND)));
  }
}

function countKey(m: Record<string, number>, k: string): void {
  m[k] = (m[k] ?? 0) + 1;
}

/** grantQuota raises a user's quota in the job's band to cover it (the trace's users had the quota their jobs ran under). */
export function grantQuota(f: Fauxmaster, spec: JobSpec): void {
  const band = bandOf(spec.priority);
  if (band === PriorityBand.FREE) return;
  const need = add(f.state.quotaUsed(spec.user, band), jobDemand(spec));
  const have = f.state.quotas.get(bandKey(spec.user, band))?.limit;
  if (have !== undefined && have.cpuMillis >= need.cpuMillis && have.ramBytes >= need.ramBytes && have.diskBytes >= need.diskBytes && have.ports >= need.ports) return;
  // A prod quota that would exceed the cell is refused; the CreateJob then fails on quota and is counted as refused.
  f.apply(bodies.setQuota(spec.user, band, need));
}

/** loadWorkload builds the workload's cell at time 0 (machines, quotas, jobs; every task PENDING) in a Fauxmaster. */
export function loadWorkload(cell: string, w: Workload, options: FauxmasterOptions): { faux: Fauxmaster; refs: Map<string, TaskRef> } {
  if (w.machines.length === 0) throw new InvalidArgument('workload', `${w.name} has no machines`);
  const jobs = jobsFor(cell, w.initial);
  const faux = Fauxmaster.fromCommands(cell, [...machineBodies(w.machines), ...quotaBodies(jobs.specs), ...jobs.bodies], { startMs: 0, ...options });
  return { faux, refs: jobs.refs };
}

/** workloadEvents: the workload's later submissions as arrivals, plus departures (trace or JSONL durations), in time order. */
export function workloadEvents(w: Workload, departures: readonly ReplayEvent[]): ReplayEvent[] {
  const events: ReplayEvent[] = [...w.later.map((task): ReplayEvent => ({ timeMs: task.submitMs, kind: 'submit', task })), ...departures];
  // Stable: at one time, arrivals before departures (a task that arrives and ends at once is still seen).
  return events.map((e, i) => ({ e, i })).sort((a, b) => a.e.timeMs - b.e.timeMs || (a.e.kind === b.e.kind ? a.i - b.i : a.e.kind === 'submit' ? -1 : 1)).map((x) => x.e);
}


/**
 * traceDepartures reads the FINISH, FAIL and KILL rows after time 0 from the 2011 trace's task_events (format:
 * /work/shared/traces/README.md), named as the workload reader names tasks (u<user hash>/j<job>/<index>), and
 * the SUBMIT rows of tasks submitted again (the workload reader keeps only a task's first submission): those
 * arrive again when the task is dead here. EVICT, LOST and SCHEDULE rows are the original cell's own decisions:
 * the replayed scheduler makes its own.
 */
export async function traceDepartures(dir: string, scale: TraceScale = DEFAULT_TRACE_SCALE): Promise<{ events: ReplayEvent[]; skipped: Record<string, number> }> {
  const events: ReplayEvent[] = [];
  const skipped: Record<string, number> = {};
  const seen = new Set<string>();
  for await (const line of readLines(join(dir, 'task_events', 'part-00000-of-00500.csv.gz'))) {
    const f = line.split(',');
    if (f.length !== 13) {
      countKey(skipped, 'task_events: wrong number of fields');
      continue;
    }
    const type = Number(f[5]);
    const event = type === 3 ? EventType.FAIL : type === 4 ? EventType.FINISH : type === 5 ? EventType.KILL : undefined;
    if (event === undefined && type !== 0) continue;
    const timeUs = Number(f[0]);
    const job = f[2] ?? '';
    const index = f[3] ?? '';
    if (!Number.isSafeInteger(timeUs) || timeUs < 0 || !/^\d+$/.test(job) || !/^\d+$/.test(index)) {
      countKey(skipped, 'task_events: bad time, job or index');
      continue;
    }
    const key = `u${(f[6] ?? '').slice(0, 12)}/j${job}/${index}`;
    const timeMs = Math.floor(timeUs / 1000);
    if (type === 0) {
      const again = seen.has(key);
      seen.add(key);
      if (!again || timeUs === 0) continue;
      const prio = Number(f[8]);
      const cpu = Number(f[9]);
      const ram = Number(f[10]);
      if (f[9] === '' || f[10] === '' || !Number.isFinite(cpu) || !Number.isFinite(ram) || !Number.isInteger(prio) || prio < 0 || prio > 11) {
        countKey(skipped, 'task_events: resubmission without requests or priority');
        continue;
      }
      const disk = Number(f[11]);
      const task: WorkloadTask = {
        job: `j${job}`,
        user: `u${(f[6] ?? '').slice(0, 12)}`,
        index: Number(index),
        priority: tracePriority(prio),
        limit: { cpuMillis: Math.max(1, Math.round(cpu * scale.cpuMillisPerUnit)), ramBytes: Math.max(1, Math.round(ram * scale.ramBytesPerUnit)), diskBytes: Number.isFinite(disk) ? Math.round(disk * scale.diskBytesPerUnit) : 0, ports: 0 },
        constraints: [],
        spread: { maxPerMachine: f[12] === '1' ? 1 : 0, maxPerRack: 0, maxPerPowerDomain: 0 },
        submitMs: timeMs,
      };
      events.push({ timeMs, kind: 'submit', task });
      continue;
    }
    if (timeUs === 0 || event === undefined) continue;
    events.push({ timeMs, kind: 'end', key, event });
  }
  return { events, skipped };
}

/**
 * jsonlDepartures reads the Fauxmaster's extension of the JSONL workload format: a task line may carry
 * `durationMs`, and the task then finishes (FINISH) that long after its submitMs. Lines the workload reader
 * refused are ignored here too.
 */
export async function jsonlDepartures(path: string): Promise<ReplayEvent[]> {
  const out: ReplayEvent[] = [];
  for await (const line of readLines(path)) {
    const text = line.trim();
    if (text === '' || text.startsWith('#')) continue;
    const o = parseJson(text);
    if (typeof o !== 'object' || o === null) continue;
    const r = o as Record<string, unknown>;
    if (r.kind !== 'task' || typeof r.durationMs !== 'number' || !Number.isSafeInteger(r.durationMs) || r.durationMs < 0) continue;
    const submitMs = typeof r.submitMs === 'number' && Number.isSafeInteger(r.submitMs) && r.submitMs >= 0 ? r.submitMs : 0;
    const index = typeof r.index === 'number' && Number.isSafeInteger(r.index) ? r.index : 0;
    if (typeof r.user !== 'string' || typeof r.job !== 'string') continue;
    out.push({ timeMs: submitMs + r.durationMs, kind: 'end', key: `${r.user}/${r.job}/${index}`, event: EventType.FINISH });
  }
  return out;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e: unknown) {
    if (e instanceof SyntaxError) return undefined;
    throw e;
  }
}
