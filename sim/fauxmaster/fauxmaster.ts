// The Fauxmaster (B15 §3.1): the real Borgmaster state machine and the real scheduler in one process, on a
// virtual clock, with the Borglets simulated as the commands a link shard would forward. No Paxos, no gRPC:
// every command goes straight to CellState.apply at the next log index, the WatchHub turns the changes into the
// Watch events a scheduler process folds into its CachedCell, and plans go through the master's own CommitPlan.
import { readFile } from 'node:fs/promises';
import type { FitPolicy, SchedulerConfig } from '../../cells/config';
import { MAX_TRANSITIONS_PER_COMMAND, PLAN_MAX_ASSIGNMENTS } from '../../cells/limits';
import { assert } from '../../model/assert';
import { VirtualClock } from '../../model/clock';
import { BorgError, InvalidArgument } from '../../model/errors';
import { SeededRng } from '../../model/rng';
import { CellState, bodies, command, restore, snapshot, taskView, type TaskRec } from '../../borgmaster/state/index';
import { commitPlan, WhyPendingStore } from '../../borgmaster/plan/index';
import { WatchHub, type Watcher } from '../../borgmaster/api/index';
import { CachedCell } from '../../scheduler/process/cached_cell';
import { Scheduler, assignmentToProto, planVerdicts, verdictToProto } from '../../scheduler/index';
import { EventType, TaskState, type Command, type CommandResult, type TaskEvent, type TaskTransition } from '../../proto/index';

type Body = NonNullable<Command['body']>;

/** FAUX_CALLER: who the Fauxmaster's commands say they come from (events and request ids carry it). */
export const FAUX_CALLER = 'fauxmaster';
/** MAX_PASSES_PER_SCHEDULE bounds one schedule(): passes stop earlier when a pass places nothing. */
export const MAX_PASSES_PER_SCHEDULE = 256;
/** HOLD_AFTER_REJECT_MS: a task the master refused waits this long (virtual) before it is planned again, as in the scheduler process. */
export const HOLD_AFTER_REJECT_MS = 2_000;
/** SETTLE_ROUNDS bounds how often schedule({ settle }) lets the hold time pass. */
export const SETTLE_ROUNDS = 8;

export interface FauxmasterOptions {
  /** seed: the scheduler's randomness (relaxed randomization); the same seed replays the same placements. */
  seed: number;
  policy?: FitPolicy;
  /** feasibleLimit: the scheduler's relaxed-randomization sample (cells default 64). */
  feasibleLimit?: number;
  /** startMs: the virtual clock's start (cell time of the first command). */
  startMs?: number;
}

/** ScheduleReport: what one schedule() did and where the cell stands after it. */
export interface ScheduleReport {
  passes: number;
  /** placed: assignments the master committed; rejected: refused by its re-check (the tasks are held and retried). */
  placed: number;
  rejected: number;
  /** preempted: tasks evicted to make room (they went back to PENDING). */
  preempted: number;
  running: number;
  pending: number;
  /** whyPending: pending tasks counted by the main reason of their last verdict, largest first. */
  whyPending: { reason: string; tasks: number }[];
}

export interface CellCounts {
  machines: number;
  jobs: number;
  running: number;
  pending: number;
  dead: number;
}

/** schedulerConfig: the scheduler's settings in the Fauxmaster (all three optimizations on, as in a live cell). */
export function schedulerConfig(o: FauxmasterOptions): SchedulerConfig {
  return { policy: o.policy ?? 'hybrid', scoreCaching: true, equivalenceClasses: true, relaxedRandomization: true, feasibleLimit: o.feasibleLimit ?? 64, passIntervalMs: 0, seed: o.seed };
}

/** mainReason folds a verdict line ("0/12 machines feasible: 9 insufficient ram, 3 insufficient cpu") to its first reason. */
export function mainReason(why: string): string {
  const colon = why.indexOf(': ');
  if (colon < 0) return why;
  const first = why.slice(colon + 2).split(', ')[0] ?? '';
  return first.replace(/^\d+\s+/, '');
}

export class Fauxmaster {
  readonly clock: VirtualClock;
  private readonly hub: WatchHub;
  private readonly watcher: Watcher;
  private readonly cached = new CachedCell();
  private readonly scheduler: Scheduler;
  private readonly whyPending = new WhyPendingStore();
  private logIndex: number;
  private planSeq = 0;
  /** recording: while set, every task event applied is appended here (what-if and step read them). */
  private recording: TaskEvent[] | undefined;

  /** The state is owned by the Fauxmaster: read it, change it only through apply(). */
  private constructor(
    readonly state: CellState,
    readonly options: FauxmasterOptions,
  ) {
    this.clock = new VirtualClock(options.startMs ?? state.timeMs);
    this.logIndex = state.appliedIndex;
    this.hub = new WatchHub(() => this.state, (t) => taskView(t, this.state.cell, this.whyPending.get(t.id) ?? ''), { historyEntries: 1 });
    this.watcher = this.hub.subscribe(0);
    this.drain();
    assert(this.cached.ready, 'the scheduler cache holds the whole cell after the first snapshot');
    this.scheduler = new Scheduler(schedulerConfig(options), new SeededRng(options.seed), this.clock);
  }

  /** fromState runs the Fauxmaster on a state (it takes ownership: nothing else may apply to it). */
  static fromState(state: CellState, options: FauxmasterOptions): Fauxmaster {
    return new Fauxmaster(state, options);
  }

  /** fromCheckpoint restores a checkpoint (borg checkpoint save; borgmaster/state/checkpoint.ts); a corrupt one is refused. */
  static fromCheckpoint(bytes: Uint8Array, options: FauxmasterOptions): Fauxmaster {
    return new Fauxmaster(restore(bytes), options);
  }

  static async fromCheckpointFile(path: string, options: FauxmasterOptions): Promise<Fauxmaster> {
    let bytes: Buffer;
    try {
      bytes = await readFile(path);
    } catch (e: unknown) {
      throw new InvalidArgument('--checkpoint', `cannot read ${path}: ${e instanceof Error ? e.message : String(e)}`);
    }
    try {
      return Fauxmaster.fromCheckpoint(bytes, options);
    } catch (e: unknown) {
      if (e instanceof BorgError) throw new InvalidArgument('--checkpoint', `${path}: ${e.message}`);
      throw e;
    }
  }

  /** fromCommands builds a cell by applying command bodies to an empty state; any refused command is an error naming it. */
  static fromCommands(cell: string, list: readonly Body[], options: FauxmasterOptions): Fauxmaster {
    const f = new Fauxmaster(new CellState(cell), options);
    for (const body of list) f.mustApply(body);
    return f;
  }

  /** apply stamps a command with the virtual time, applies it at the next log index and feeds the scheduler's cache. */
  apply(body: Body, requestId = ''): CommandResult {
    const out = this.state.apply(command(body, { requestId, caller: FAUX_CALLER, timeMs: this.clock.nowMs() }), ++this.logIndex);
    this.hub.publish(out.logIndex, [out.changes]);
    if (this.recording !== undefined) for (const e of out.changes.events) this.recording.push(e);
    this.drain();
    return out.result;
  }

  /** mustApply applies and turns a refusal into an error (for building cells, where a refusal is a bad input). */
  mustApply(body: Body): CommandResult {
    const r = this.apply(body);
    if (!r.ok) throw new InvalidArgument(r.errorField || body.$case, `${body.$case} refused: ${r.errorMessage}`);
    return r;
  }

  /** applyTransitions applies a batch of Borglet-observed transitions in commands of the log's size limit. */
  applyTransitions(list: readonly TaskTransition[]): { accepted: number; rejected: { taskId: string; reason: string }[] } {
    let accepted = 0;
    const rejected: { taskId: string; reason: string }[] = [];
    for (let i = 0; i < list.length; i += MAX_TRANSITIONS_PER_COMMAND) {
      const r = this.mustApply({ $case: 'transitions', value: { transitions: list.slice(i, i + MAX_TRANSITIONS_PER_COMMAND) } });
      accepted += r.acceptedTaskIds.length;
      rejected.push(...r.rejected);
    }
    return { accepted, rejected };
  }

  private drain(): void {
    for (let ev = this.watcher.take(); ev !== undefined; ev = this.watcher.take()) this.cached.apply(ev);
    assert(!this.watcher.closed, `the Fauxmaster's watch was cut off: ${this.watcher.cutOff?.reason ?? ''}`);
  }

  /**
   * schedule runs scheduler passes, exactly as the scheduler process does (release held tasks, schedulePass on
   * the cached cell, CommitPlan on the master), until the queue is empty or a pass places nothing. With settle,
   * virtual time moves on while refused tasks are held, so they are retried (what-if and the CLI's schedule).
   */
  async schedule(options: { settle?: boolean; maxPasses?: number } = {}): Promise<ScheduleReport> {
    const maxPasses = options.maxPasses ?? MAX_PASSES_PER_SCHEDULE;
    let passes = 0;
    let placed = 0;
    let rejected = 0;
    let preempted = 0;
    let heldSince = 0;
    for (let settles = 0; passes < maxPasses; ) {
      this.cached.release(this.clock.nowMs());
      let progress = false;
      if (this.cached.queue.size > 0) {
        const r = await this.passOnce();
        passes++;
        placed += r.accepted;
        rejected += r.rejected;
        heldSince += r.rejected;
        preempted += r.victims;
        progress = r.planned > 0;
      }
      if (progress) continue;
      // settle: tasks the master refused are held for HOLD_AFTER_REJECT_MS of cell time, as in the scheduler
      // process; let that time pass (a few times at most) so they are planned again against the new state.
      if (options.settle !== true || heldSince === 0 || settles >= SETTLE_ROUNDS) break;
      this.clock.advance(HOLD_AFTER_REJECT_MS);
      heldSince = 0;
      settles++;
    }
    const c = this.counts();
    return { passes, placed, rejected, preempted, running: c.running, pending: c.pending, whyPending: this.whyPendingHistogram() };
  }

  private async passOnce(): Promise<{ planned: number; accepted: number; rejected: number; victims: number }> {
    const cell = this.cached;
    const plan = this.scheduler.schedulePass(cell.snap, cell.queue, { maxAssignments: PLAN_MAX_ASSIGNMENTS });
    const assignments = plan.assignments.map((a) => assignmentToProto(a, cell.tasks, cell.machines, cell.specVersionOf(a.taskId)));
    const pending = planVerdicts(plan).map((v) => verdictToProto(v, cell.tasks));
    const victims = assignments.reduce((n, a) => n + a.victimTaskIds.length, 0);
    const r = await commitPlan(
      this.state,
      this.whyPending,
      // The log index makes the id unique in this cell's history, clones and restored checkpoints included.
      { requestId: `faux-plan-${this.state.appliedIndex}-${++this.planSeq}`, baseLogIndex: cell.logIndex, assignments, pending, passSeconds: 0 },
      async (body, requestId) => {
        const result = this.apply(body, requestId);
        // A refused command (as opposed to refused assignments inside it) means the plan was malformed: a bug.
        assert(result.ok, `the master refused the Fauxmaster's plan: ${result.errorMessage}`);
        return result;
      },
    );
    for (const rej of r.rejected) cell.hold(rej.taskId, this.clock.nowMs() + HOLD_AFTER_REJECT_MS);
    this.reportStarted(r.acceptedTaskIds);
    return { planned: assignments.length, accepted: r.acceptedTaskIds.length, rejected: r.rejected.length, victims };
  }

  /**
   * reportStarted: the simulated Borglets start the tasks placed on them and report them healthy, as a link shard
   * would forward (a rolling update moves on only when the task it restarted is healthy).
   */
  private reportStarted(taskIds: readonly string[]): void {
    const updates: { taskId: string; machine: string; healthy: boolean }[] = [];
    for (const id of taskIds) {
      const t = this.state.lookupTask(id);
      if (t?.state === TaskState.RUNNING && t.machine !== undefined && !t.healthy) updates.push({ taskId: id, machine: t.machine.name, healthy: true });
    }
    for (let i = 0; i < updates.length; i += MAX_TRANSITIONS_PER_COMMAND) this.apply(bodies.health(updates.slice(i, i + MAX_TRANSITIONS_PER_COMMAND)));
  }

  /** counts tallies machines, jobs and tasks by state. */
  counts(): CellCounts {
    let running = 0;
    let pending = 0;
    let dead = 0;
    for (const j of this.state.jobs.values()) {
      running += j.running;
      pending += j.pending;
      dead += j.dead;
    }
    return { machines: this.state.machines.size, jobs: this.state.jobs.size, running, pending, dead };
  }

  /** whyPending is the last verdict the scheduler gave a pending task (or the master's refusal of its plan). */
  whyPendingOf(taskId: string): string | undefined {
    return this.whyPending.get(taskId);
  }

  /** whyPendingHistogram counts pending tasks by the main reason of their last verdict. */
  whyPendingHistogram(): { reason: string; tasks: number }[] {
    const counts = new Map<string, number>();
    for (const j of this.state.jobs.values()) {
      if (j.pending === 0) continue;
      for (const t of j.tasks) {
        if (t.state !== TaskState.PENDING) continue;
        const why = this.whyPending.get(t.id);
        const reason = why === undefined ? (t.notBeforeMs > this.clock.nowMs() ? 'restart back-off' : 'not considered yet (held after a refused plan)') : mainReason(why);
        counts.set(reason, (counts.get(reason) ?? 0) + 1);
      }
    }
    return [...counts].map(([reason, tasks]) => ({ reason, tasks })).sort((a, b) => b.tasks - a.tasks || a.reason.localeCompare(b.reason));
  }

  /** tasks iterates every task of the cell (records owned by the state: read only). */
  *tasks(): Generator<TaskRec> {
    for (const j of this.state.jobs.values()) yield* j.tasks;
  }

  /** clone is an independent Fauxmaster on a copy of the cell (a checkpoint round trip), at the same virtual time. */
  clone(): Fauxmaster {
    return new Fauxmaster(restore(snapshot(this.state)), { ...this.options, startMs: this.clock.nowMs() });
  }

  /** record collects every task event applied while fn runs (in apply order). */
  async record<T>(fn: () => Promise<T>): Promise<{ value: T; events: TaskEvent[] }> {
    assert(this.recording === undefined, 'record does not nest');
    const events: TaskEvent[] = [];
    this.recording = events;
    try {
      return { value: await fn(), events };
    } finally {
      this.recording = undefined;
    }
  }

  /** recordSync is record for synchronous work. */
  recordSync<T>(fn: () => T): { value: T; events: TaskEvent[] } {
    assert(this.recording === undefined, 'record does not nest');
    const events: TaskEvent[] = [];
    this.recording = events;
    try {
      return { value: fn(), events };
    } finally {
      this.recording = undefined;
    }
  }
}

/** endTransition is what a (simulated) Borglet reports when a running task ends: the link shard's transition. */
export function endTransition(t: TaskRec, event: EventType.FINISH | EventType.FAIL | EventType.KILL | EventType.LOST | EventType.EVICT, message: string): TaskTransition {
  return { taskId: t.id, event, machine: t.machine?.name ?? '', specVersion: t.specVersion, victimTaskIds: [], exitCode: event === EventType.FAIL ? 1 : 0, message, restarts: 0 };
}
