// CellState is the Borgmaster's replicated state machine (DESIGN.md §5): jobs, tasks, machines, quotas,
// allocations and quantised reservations. apply(command, logIndex) is deterministic (time comes stamped in the
// command; nothing here reads a clock, a random source or the disk) and returns the command's result plus the
// changes it made, for the Watch stream. Every handler checks everything first and mutates only after, so a
// refused command changes nothing; a broken invariant is an assertion (a bug), never a silent repair.
import { assert } from '../../model/assert';
import { AlreadyExists, BorgError, InvalidArgument, NotFound, QuotaExceeded } from '../../model/errors';
import { formatJobId, validateMachineName, validateName, type TaskId } from '../../model/ids';
import { bandOf, bandName, isProd } from '../../model/priority';
import { equal, formatResources, validateResources, type Resources } from '../../model/resources';
import { transition } from '../../model/task_state';
import {
  Command,
  CommandResult,
  EventType,
  JobSpec,
  MachineState,
  PriorityBand,
  RestartPolicy_Kind,
  TaskSpec,
  TaskState,
  type CreateJobCommand,
  type KillJobCommand,
  type RegisterMachineCommand,
  type RejectedTransition,
  type ReservationUpdates,
  type HealthUpdates,
  type SetMachineStateCommand,
  type SetQuotaCommand,
  type TaskEvent,
  type TaskTransition,
  type TaskTransitions,
  type UpdateJobCommand,
} from '../../proto/index';
import {
  LIST_PAGE_SIZE_DEFAULT,
  MAX_JOBS_PER_CELL,
  MAX_MACHINES_PER_CELL,
  MAX_TASKS_PER_CELL,
  MAX_TRANSITIONS_PER_COMMAND,
  MAX_VICTIMS_PER_ASSIGNMENT,
} from '../../cells/limits';
import { EventLog } from './event_log';
import { backoffAfter, restartTiming } from '../../model/restart';
import { probeText } from '../../model/health';
import { sameRunSpec } from '../../model/task_spec';
import { RequestCache, fingerprint, requestKey } from './request_cache';
import {
  NO_PORTS,
  effectiveTaskSpec,
  limitOf,
  newSpecVersion,
  priorityOf,
  reservationOf,
  type JobRec,
  type MachineRec,
  type QuotaRec,
  type SpecVersion,
  type TaskRec,
} from './records';
import { addUsage, bandKey, describeQuota, isProdBand, isUnlimited, jobDemand, quotaShortfall, subUsage, zeroUsage, type Usage } from './quota';
import { allocatePorts, charge, checkPlacement, fitsResized, unmetConstraint, type MachineCharges } from './placement';
import { quantiseReservation } from './reservation';
import {
  QUOTA_BANDS,
  SETTABLE_MACHINE_STATES,
  TRANSITION_EVENTS,
  validateEnum,
  validateJobSpec,
  validateMachine,
  validateMessage,
  validateTaskIdIn,
  validateUint,
} from './validate';

/**
 * RunStreak: a Borglet's count of the runs of a task that ended in a row on its machine, the last included, and
 * whether a run there lasted the restart policy's reset_after (forgiving the failures before it).
 */
interface RunStreak {
  runs: number;
  reset: boolean;
}

/** Changes lists what one apply touched, for the Watch stream (records are read right after apply). */
export interface Changes {
  jobs: Set<JobRec>;
  tasks: Set<TaskRec>;
  machines: Set<MachineRec>;
  quotas: Set<QuotaRec>;
  deletedTaskIds: string[];
  deletedJobIds: string[];
  events: TaskEvent[];
}

export interface ApplyOutcome {
  logIndex: number;
  result: CommandResult;
  changes: Changes;
  /** duplicate: the (caller, request id) was applied before; result is the remembered one, nothing changed. */
  duplicate: boolean;
}

/** UpdatePreview is what an UpdateJob would do (dry run, and the check phase of the real one). */
export interface UpdatePreview {
  job: JobRec;
  spec: JobSpec;
  changed: boolean;
  restartedTaskIds: string[];
  restartedCount: number;
  diff: string;
}

export function emptyChanges(): Changes {
  return { jobs: new Set(), tasks: new Set(), machines: new Set(), quotas: new Set(), deletedTaskIds: [], deletedJobIds: [], events: [] };
}

/** commandBodyBytes is the part of a command that identifies a request (not who, when or under which id). */
export function commandBodyBytes(cmd: Command): Uint8Array {
  return Command.encode({ requestId: '', caller: '', timeMs: 0, body: cmd.body }).finish();
}

function okResult(partial: Partial<CommandResult> = {}): CommandResult {
  return CommandResult.fromPartial({ ok: true, ...partial });
}

export function errorResult(e: BorgError): CommandResult {
  return CommandResult.fromPartial({
    ok: false,
    errorCode: e.code,
    errorMessage: e.message,
    errorField: e instanceof InvalidArgument ? e.field : '',
  });
}

/**
 * updatesInPlace: a running task moves to spec `next` without a restart: one run serves both (model/task_spec), its
 * machine meets the new constraints and fits its new limits.
 */
function updatesInPlace(task: TaskRec, next: TaskSpec, on?: MachineCharges): boolean {
  if (!sameRunSpec(task.spec, next)) return false;
  const m = task.machine;
  return m === undefined || (unmetConstraint(next.constraints, m.attributes) === undefined && fitsResized(task, next.requirements ?? limitOf(task), on ?? m));
}

/** chargeResize moves a placed task's charges in `on` from its own limits to `limit`; its reservation starts over at it. */
function chargeResize(task: TaskRec, limit: Resources, on: MachineCharges): void {
  const prod = isProd(priorityOf(task));
  charge(on, limitOf(task), reservationOf(task), -1, prod);
  charge(on, limit, limit, 1, prod);
}

function jobSpecBytes(s: JobSpec): Buffer {
  const b = JobSpec.encode(s).finish();
  return Buffer.from(b.buffer, b.byteOffset, b.length);
}

export class CellState {
  /** The records below are owned by apply(); readers must not mutate them. */
  readonly jobs = new Map<string, JobRec>();
  readonly machines = new Map<string, MachineRec>();
  readonly quotas = new Map<string, QuotaRec>();
  /** usage per (user, band): the demand of the user's live jobs in that band. */
  readonly usage = new Map<string, Usage>();
  readonly events: EventLog;
  readonly requests: RequestCache;
  private _appliedIndex = 0;
  private _timeMs = 0;
  private _taskCount = 0;
  private _desiredEpoch = 0;

  constructor(
    readonly cell: string,
    options: { eventCapacity?: number; requestCapacity?: number; requestTaskIds?: number } = {},
  ) {
    validateName(cell, 'cell');
    this.events = new EventLog(options.eventCapacity);
    this.requests = new RequestCache(options.requestCapacity, options.requestTaskIds);
  }

  /** appliedIndex is the log index of the last applied command (several commands may share one index). */
  get appliedIndex(): number {
    return this._appliedIndex;
  }
  /** timeMs is the cell's time: the largest time stamped into an applied command. */
  get timeMs(): number {
    return this._timeMs;
  }
  get taskCount(): number {
    return this._taskCount;
  }
  /**
   * desiredEpoch changes whenever a placed task's spec version or priority may change without its machine's
   * generation moving (an UpdateJob updating running tasks in place). With the machine's generation it keys caches
   * of what a machine's Borglet must run (link shards). Derived, not replicated: a fresh state starts at 0.
   */
  get desiredEpoch(): number {
    return this._desiredEpoch;
  }

  /** restoredAt is for checkpoint restore only. */
  restoredAt(appliedIndex: number, timeMs: number, taskCount: number): void {
    assert(this._appliedIndex === 0 && this._taskCount === 0, 'restoredAt on a fresh state only');
    this._appliedIndex = appliedIndex;
    this._timeMs = timeMs;
    this._taskCount = taskCount;
  }

  // ---------------------------------------------------------------- reads

  getJob(user: string, name: string): JobRec | undefined {
    return this.jobs.get(formatJobId({ cell: this.cell, user, job: name }));
  }

  getTask(id: TaskId): TaskRec | undefined {
    if (id.cell !== this.cell) return undefined;
    return this.jobs.get(formatJobId(id))?.tasks[id.index];
  }

  /** lookupTask parses a task id (InvalidArgument when malformed) and finds the task. */
  lookupTask(taskId: string, field = 'taskId'): TaskRec | undefined {
    return this.getTask(validateTaskIdIn(taskId, field, this.cell));
  }

  /**
   * getTaskIfValid is lookupTask for ids that may be malformed: undefined instead of an error. It parses nothing:
   * the job is found by the id's prefix and the task by its index, and the task's own id must then equal the
   * string, so only a well-formed id of this cell can match (hot paths: usage samples, verdicts, applied
   * transitions whose ids were validated already).
   */
  getTaskIfValid(taskId: string): TaskRec | undefined {
    const slash = taskId.lastIndexOf('/');
    if (slash <= 0) return undefined;
    const job = this.jobs.get(taskId.slice(0, slash));
    if (job === undefined) return undefined;
    const index = Number(taskId.slice(slash + 1));
    if (!Number.isSafeInteger(index) || index < 0) return undefined;
    const t = job.tasks[index];
    return t !== undefined && t.id === taskId ? t : undefined;
  }

  quotaUsed(user: string, band: PriorityBand): Usage {
    return this.usage.get(bandKey(user, band)) ?? zeroUsage();
  }

  /** cachedResult answers a retried request without proposing it again (the API's fast path). */
  cachedResult(caller: string, requestId: string, cmd: Command): { result: CommandResult; sameRequest: boolean } | undefined {
    const hit = this.requests.get(requestKey(caller, requestId));
    if (hit === undefined) return undefined;
    return { result: hit.result, sameRequest: hit.fingerprint === fingerprint(commandBodyBytes(cmd)) };
  }

  /** cellCapacity sums the capacity of the machines that are not DOWN. */
  cellCapacity(): Usage {
    let total = zeroUsage();
    for (const m of this.machines.values()) if (m.state !== MachineState.DOWN) total = addUsage(total, m.capacity);
    return total;
  }

  // ---------------------------------------------------------------- apply

  /**
   * apply applies one committed command at logIndex. Indexes never go backwards; several commands of one Paxos
   * slot share its index. Operating errors become a failed CommandResult (identical on every replica).
   */
  apply(cmd: Command, logIndex: number): ApplyOutcome {
    assert(Number.isSafeInteger(logIndex) && logIndex >= this._appliedIndex, `apply at ${logIndex} after ${this._appliedIndex}`);
    this._appliedIndex = logIndex;
    // A new leader's clock may lag the old one's: cell time never goes backwards.
    if (Number.isSafeInteger(cmd.timeMs) && cmd.timeMs > this._timeMs) this._timeMs = cmd.timeMs;
    const changes = emptyChanges();
    let key: string | undefined;
    let fp = 0;
    if (cmd.requestId !== '') {
      key = requestKey(cmd.caller, cmd.requestId);
      fp = fingerprint(commandBodyBytes(cmd));
      const hit = this.requests.get(key);
      if (hit !== undefined) {
        if (hit.fingerprint === fp) return { logIndex, result: hit.result, changes, duplicate: true };
        const e = new InvalidArgument('requestId', `${JSON.stringify(cmd.requestId)} was already used for a different request`);
        return { logIndex, result: { ...errorResult(e), logIndex }, changes, duplicate: false };
      }
    }
    let result: CommandResult;
    try {
      result = this.dispatch(cmd, logIndex, changes);
    } catch (e: unknown) {
      if (!(e instanceof BorgError)) throw e;
      result = errorResult(e);
    }
    result.logIndex = logIndex;
    if (key !== undefined) this.requests.put(key, { fingerprint: fp, result });
    return { logIndex, result, changes, duplicate: false };
  }

  /** applyEncoded decodes and applies; undecodable bytes are refused (same answer everywhere), never a crash. */
  applyEncoded(bytes: Uint8Array, logIndex: number): ApplyOutcome {
    let cmd: Command;
    try {
      cmd = Command.decode(bytes);
    } catch (e: unknown) {
      const cmdErr = new InvalidArgument('command', `does not decode: ${e instanceof Error ? e.message : String(e)}`);
      assert(logIndex >= this._appliedIndex, `apply at ${logIndex} after ${this._appliedIndex}`);
      this._appliedIndex = logIndex;
      return { logIndex, result: { ...errorResult(cmdErr), logIndex }, changes: emptyChanges(), duplicate: false };
    }
    return this.apply(cmd, logIndex);
  }

  private dispatch(cmd: Command, logIndex: number, ch: Changes): CommandResult {
    const body = cmd.body;
    if (body === undefined) throw new InvalidArgument('body', 'is required');
    const t = this._timeMs;
    switch (body.$case) {
      case 'noop':
        return okResult();
      case 'createJob':
        return this.createJob(body.value, t, logIndex, ch);
      case 'updateJob':
        return this.updateJob(body.value, t, logIndex, ch);
      case 'killJob':
        return this.killJob(body.value, t, logIndex, ch);
      case 'transitions':
        return this.transitions(body.value, t, logIndex, ch);
      case 'reservations':
        return this.reservations(body.value, ch);
      case 'health':
        return this.health(body.value, t, logIndex, ch);
      case 'registerMachine':
        return this.registerMachine(body.value, ch);
      case 'setMachineState':
        return this.setMachineState(body.value, ch);
      case 'setQuota':
        return this.setQuota(body.value, ch);
      default: {
        const never: never = body;
        throw new InvalidArgument('body', `unknown command ${JSON.stringify(never)}`);
      }
    }
  }

  // ---------------------------------------------------------------- jobs

  /** checkQuota throws QuotaExceeded naming the quota and the shortfall, or returns when the job fits. */
  checkQuota(user: string, priority: number, demand: Usage, released: Usage = zeroUsage()): void {
    const band = bandOf(priority);
    if (isUnlimited(band)) return;
    const need = addUsage(subUsage(this.quotaUsed(user, band), released), demand);
    const limit = this.quotas.get(bandKey(user, band))?.limit ?? { cpuMillis: 0, ramBytes: 0, diskBytes: 0, ports: 0 };
    const short = quotaShortfall(need, limit);
    if (short.length > 0) throw new QuotaExceeded(`${describeQuota(user, priority, this.cell)} exceeded: ${short.join('; ')}`);
  }

  /** admitCreate is the check phase of CreateJob (also run by the API before proposing). */
  admitCreate(specIn: JobSpec | undefined): JobSpec {
    const spec = validateJobSpec(specIn, 'spec', this.cell);
    const id = formatJobId({ cell: this.cell, user: spec.user, job: spec.name });
    if (this.jobs.has(id)) throw new AlreadyExists(`job ${id}`);
    if (this.jobs.size >= MAX_JOBS_PER_CELL) throw new BorgError('resource_exhausted', `cell ${this.cell} already has ${this.jobs.size} jobs (limit ${MAX_JOBS_PER_CELL})`);
    if (this._taskCount + spec.taskCount > MAX_TASKS_PER_CELL) {
      throw new BorgError('resource_exhausted', `cell ${this.cell} would have ${this._taskCount + spec.taskCount} tasks (limit ${MAX_TASKS_PER_CELL})`);
    }
    this.checkQuota(spec.user, spec.priority, jobDemand(spec));
    return spec;
  }

  private createJob(c: CreateJobCommand, t: number, idx: number, ch: Changes): CommandResult {
    const spec = this.admitCreate(c.spec);
    const id = formatJobId({ cell: this.cell, user: spec.user, job: spec.name });
    const v = newSpecVersion(1, spec);
    const job: JobRec = {
      id,
      user: spec.user,
      name: spec.name,
      current: v,
      specs: new Map([[1, v]]),
      createdMs: t,
      tasks: [],
      rolloutCursor: spec.taskCount,
      downCount: 0,
      pending: 0,
      running: 0,
      healthy: 0,
      dead: 0,
    };
    this.jobs.set(id, job);
    for (let i = 0; i < spec.taskCount; i++) job.tasks.push(this.newTask(job, i, t, idx, ch));
    this.chargeUsage(spec, 1);
    ch.jobs.add(job);
    return okResult({ specVersion: 1 });
  }

  private chargeUsage(spec: JobSpec, sign: 1 | -1): void {
    const key = bandKey(spec.user, bandOf(spec.priority));
    const d = jobDemand(spec);
    const next = addUsage(this.usage.get(key) ?? zeroUsage(), d, sign);
    if (next.cpuMillis === 0 && next.ramBytes === 0 && next.diskBytes === 0 && next.ports === 0) this.usage.delete(key);
    else this.usage.set(key, next);
  }

  private newTask(job: JobRec, index: number, t: number, idx: number, ch: Changes): TaskRec {
    const v = job.current;
    v.refs++;
    const task: TaskRec = {
      job,
      index,
      id: `${job.id}/${index}`,
      state: TaskState.TASK_STATE_UNSPECIFIED,
      lastEvent: EventType.SUBMIT,
      machine: undefined,
      specVersion: v.version,
      spec: effectiveTaskSpec(v, index),
      reservation: undefined,
      ports: NO_PORTS,
      restarts: 0,
      machineRestarts: 0,
      failures: 0,
      startTimeMs: 0,
      stateTimeMs: t,
      notBeforeMs: 0,
      exitCode: 0,
      message: '',
      updateDown: false,
      healthy: false,
      healthTimeMs: t,
    };
    this._taskCount++;
    this.moveState(task, EventType.SUBMIT, t, idx, ch, '');
    return task;
  }

  /** previewUpdate is the check phase of UpdateJob and the whole of a dry run: it changes nothing. */
  previewUpdate(specIn: JobSpec | undefined): UpdatePreview {
    const spec = validateJobSpec(specIn, 'spec', this.cell);
    const job = this.getJob(spec.user, spec.name);
    if (job === undefined) throw new NotFound(`job ${formatJobId({ cell: this.cell, user: spec.user, job: spec.name })}`);
    const old = job.current.spec;
    if (jobSpecBytes(old).equals(jobSpecBytes(spec))) {
      return { job, spec, changed: false, restartedTaskIds: [], restartedCount: 0, diff: 'no change' };
    }
    const grow = spec.taskCount - old.taskCount;
    if (grow > 0 && this._taskCount + grow > MAX_TASKS_PER_CELL) {
      throw new BorgError('resource_exhausted', `cell ${this.cell} would have ${this._taskCount + grow} tasks (limit ${MAX_TASKS_PER_CELL})`);
    }
    const oldDemand = jobDemand(old);
    const newDemand = jobDemand(spec);
    const sameBand = bandOf(old.priority) === bandOf(spec.priority);
    const shrinks = sameBand && (['cpuMillis', 'ramBytes', 'diskBytes', 'ports'] as const).every((d) => newDemand[d] <= oldDemand[d]);
    // Shrinking a job is always allowed, even when the quota was lowered below what the user holds.
    if (!shrinks) this.checkQuota(spec.user, spec.priority, newDemand, sameBand ? oldDemand : zeroUsage());
    const probe = newSpecVersion(job.current.version + 1, spec);
    const restarted: string[] = [];
    let restartedCount = 0;
    // As the update will, in task order, on copies of the machines' sums: a resize counts against the next task.
    const sums = new Map<MachineRec, MachineCharges>();
    const n = Math.min(spec.taskCount, job.tasks.length);
    for (let i = 0; i < n; i++) {
      const task = job.tasks[i] as TaskRec;
      if (task.state !== TaskState.RUNNING) continue;
      const next = effectiveTaskSpec(probe, i);
      const m = task.machine;
      let on: MachineCharges | undefined;
      if (m !== undefined) {
        on = sums.get(m) ?? { capacity: m.capacity, allocatedLimit: { ...m.allocatedLimit }, allocatedReservation: { ...m.allocatedReservation }, prodLimit: { ...m.prodLimit } };
        sums.set(m, on);
      }
      if (!updatesInPlace(task, next, on)) {
        restartedCount++;
        if (restarted.length < LIST_PAGE_SIZE_DEFAULT) restarted.push(task.id);
      } else if (on !== undefined && next.requirements !== undefined) chargeResize(task, next.requirements, on);
    }
    return { job, spec, changed: true, restartedTaskIds: restarted, restartedCount, diff: diffSpecs(old, spec, restartedCount) };
  }

  private updateJob(c: UpdateJobCommand, t: number, idx: number, ch: Changes): CommandResult {
    const p = this.previewUpdate(c.spec);
    const job = p.job;
    if (!p.changed) return okResult({ specVersion: job.current.version });
    const old = job.current.spec;
    this.chargeUsage(old, -1);
    this.chargeUsage(p.spec, 1);
    const v = newSpecVersion(job.current.version + 1, p.spec);
    job.specs.set(v.version, v);
    job.current = v;
    this._desiredEpoch++;
    ch.jobs.add(job);
    // A priority change across the prod boundary moves the job's placed tasks between the machines' sums.
    if (isProd(old.priority) !== isProd(p.spec.priority)) {
      const sign = isProd(p.spec.priority) ? 1 : -1;
      for (const task of job.tasks) {
        if (task.machine === undefined) continue;
        const l = limitOf(task);
        for (const d of ['cpuMillis', 'ramBytes', 'diskBytes', 'ports'] as const) task.machine.prodLimit[d] += sign * l[d];
        task.machine.generation++;
        ch.machines.add(task.machine);
      }
    }
    // Scale down: tasks past the new count go away for good.
    while (job.tasks.length > p.spec.taskCount) {
      const task = job.tasks.pop() as TaskRec;
      this.deleteTask(task, t, idx, ch, `job ${job.id} scaled down to ${p.spec.taskCount}`);
    }
    // Running tasks that one run serves at both versions (a new priority, restart policy, health check or kill
    // grace, constraints their machine still meets, limits it still holds) are updated in place, resized there,
    // and never restart; pending tasks take the new spec at once; the other running ones wait for the rollout.
    for (const task of job.tasks) {
      const next = effectiveTaskSpec(v, task.index);
      if (task.state !== TaskState.RUNNING || updatesInPlace(task, next)) {
        this.resizeInPlace(task, next, ch);
        this.setVersion(task, v);
        if (task.state === TaskState.PENDING) this.moveState(task, EventType.UPDATE_PENDING, t, idx, ch, `updated to version ${v.version}`);
        else if (task.state === TaskState.RUNNING) this.moveState(task, EventType.UPDATE_RUNNING, t, idx, ch, `updated in place to version ${v.version}`);
      }
    }
    // Scale up.
    for (let i = job.tasks.length; i < p.spec.taskCount; i++) job.tasks.push(this.newTask(job, i, t, idx, ch));
    this.dropUnusedVersions(job);
    job.rolloutCursor = 0;
    this.advanceRollout(job, t, idx, ch);
    return okResult({ specVersion: v.version, restartedTaskIds: p.restartedTaskIds });
  }

  /**
   * advanceRollout restarts running tasks still at an older spec version, in index order, while fewer than
   * max_tasks_down tasks that the rollout took down are not running healthy again.
   */
  private advanceRollout(job: JobRec, t: number, idx: number, ch: Changes): void {
    const maxDown = Math.max(1, job.current.spec.updatePolicy?.maxTasksDown ?? 1);
    while (job.downCount < maxDown && job.rolloutCursor < job.tasks.length) {
      const task = job.tasks[job.rolloutCursor++] as TaskRec;
      if (task.state !== TaskState.RUNNING || task.specVersion === job.current.version) continue;
      // The event first, while the task still names its machine; then free the machine.
      this.moveState(task, EventType.KILL, t, idx, ch, `replaced by the rolling update to version ${job.current.version}`);
      this.unplace(task, ch);
      this.resubmit(task, 0, t, idx, ch, `resubmitted at version ${job.current.version} by the rolling update`, false);
      // A task the last rollout took down that runs but is not healthy yet is down already.
      if (!task.updateDown) {
        task.updateDown = true;
        job.downCount++;
      }
    }
    this.dropUnusedVersions(job);
  }

  /**
   * resizeInPlace moves a placed task's charges on its machine to the limits of spec `next` (checked to fit by
   * updatesInPlace); its reservation starts over at the new limit, as for a new run (B15 §5.5).
   */
  private resizeInPlace(task: TaskRec, next: TaskSpec, ch: Changes): void {
    const m = task.machine;
    const limit = next.requirements;
    if (m === undefined || limit === undefined || equal(limit, limitOf(task))) return;
    chargeResize(task, limit, m);
    task.reservation = undefined;
    m.generation++;
    ch.machines.add(m);
  }

  private setVersion(task: TaskRec, v: SpecVersion): void {
    if (task.specVersion === v.version) return;
    const old = task.job.specs.get(task.specVersion);
    assert(old !== undefined && old.refs > 0, `task ${task.id} refers to a known spec version`);
    old.refs--;
    v.refs++;
    task.specVersion = v.version;
    task.spec = effectiveTaskSpec(v, task.index);
  }

  private dropUnusedVersions(job: JobRec): void {
    for (const [version, v] of job.specs) if (v.refs === 0 && v !== job.current) job.specs.delete(version);
  }

  private deleteTask(task: TaskRec, t: number, idx: number, ch: Changes, why: string): void {
    if (task.state !== TaskState.DEAD) {
      this.moveState(task, EventType.KILL, t, idx, ch, why);
      this.unplace(task, ch);
    }
    if (task.updateDown) {
      task.updateDown = false;
      task.job.downCount--;
    }
    const v = task.job.specs.get(task.specVersion);
    assert(v !== undefined && v.refs > 0, 'deleted task refers to a known version');
    v.refs--;
    task.job.dead--;
    this._taskCount--;
    ch.tasks.delete(task);
    ch.deletedTaskIds.push(task.id);
  }

  /** admitKill is the check phase of KillJob. */
  admitKill(c: KillJobCommand): JobRec {
    const user = validateName(c.user, 'user');
    const name = validateName(c.job, 'job');
    const job = this.getJob(user, name);
    if (job === undefined) throw new NotFound(`job ${formatJobId({ cell: this.cell, user, job: name })}`);
    return job;
  }

  private killJob(c: KillJobCommand, t: number, idx: number, ch: Changes): CommandResult {
    const job = this.admitKill(c);
    for (const task of job.tasks) this.deleteTask(task, t, idx, ch, `job ${job.id} killed`);
    job.tasks = [];
    this.chargeUsage(job.current.spec, -1);
    this.jobs.delete(job.id);
    ch.jobs.delete(job);
    ch.deletedJobIds.push(job.id);
    return okResult({ specVersion: job.current.version });
  }

  // ---------------------------------------------------------------- task lifecycle

  private moveState(task: TaskRec, event: EventType, t: number, idx: number, ch: Changes, message: string): void {
    const tr = transition(task.state, event);
    assert(tr.kind === 'ok', `task ${task.id}: ${tr.kind === 'invalid' ? tr.reason : ''}`);
    const job = task.job;
    if (task.state !== tr.to) {
      if (task.state === TaskState.PENDING) job.pending--;
      else if (task.state === TaskState.RUNNING) job.running--;
      else if (task.state === TaskState.DEAD) job.dead--;
      if (tr.to === TaskState.PENDING) job.pending++;
      else if (tr.to === TaskState.RUNNING) job.running++;
      else if (tr.to === TaskState.DEAD) job.dead++;
      task.stateTimeMs = t;
      if (tr.to !== TaskState.RUNNING) this.setHealth(task, false, t);
    }
    task.state = tr.to;
    task.lastEvent = event;
    if (message !== '') task.message = message;
    const e: TaskEvent = {
      timeMs: t,
      logIndex: idx,
      taskId: task.id,
      type: event,
      machine: task.machine?.name ?? '',
      user: job.user,
      job: job.name,
      priority: job.current.spec.priority,
      message,
    };
    this.events.push(e);
    ch.events.push(e);
    ch.tasks.add(task);
    ch.jobs.add(job);
  }

  private place(task: TaskRec, machine: MachineRec, t: number, ch: Changes): void {
    assert(task.machine === undefined, `task ${task.id} placed twice`);
    const limit = limitOf(task);
    const ports = allocatePorts(machine, limit.ports);
    assert(ports.length === limit.ports, `ports for ${task.id} were checked`);
    for (const p of ports) machine.usedPorts.add(p);
    task.ports = ports.length === 0 ? NO_PORTS : ports;
    task.machine = machine;
    task.reservation = undefined;
    task.machineRestarts = 0;
    task.startTimeMs = t;
    this.newRun(task, t);
    machine.tasks.add(task);
    charge(machine, limit, limit, 1, isProd(priorityOf(task)));
    machine.generation++;
    ch.machines.add(machine);
  }

  private unplace(task: TaskRec, ch: Changes): void {
    const machine = task.machine;
    if (machine === undefined) return;
    assert(machine.tasks.has(task), `task ${task.id} is on its machine`);
    machine.tasks.delete(task);
    for (const p of task.ports) machine.usedPorts.delete(p);
    charge(machine, limitOf(task), reservationOf(task), -1, isProd(priorityOf(task)));
    machine.generation++;
    ch.machines.add(machine);
    task.machine = undefined;
    task.ports = NO_PORTS;
    task.reservation = undefined;
  }

  /** resubmit takes a dead task back to PENDING at the job's current spec, not before t + backoffMs. */
  private resubmit(task: TaskRec, backoffMs: number, t: number, idx: number, ch: Changes, message: string, countRestart: boolean): void {
    this.setVersion(task, task.job.current);
    if (countRestart) task.restarts++;
    task.notBeforeMs = backoffMs > 0 ? t + backoffMs : 0;
    this.moveState(task, EventType.SUBMIT, t, idx, ch, message);
  }

  /**
   * endTask applies EVICT, FAIL, FINISH, KILL or LOST and then the restart policy: evicted and lost tasks go
   * back to PENDING at once (not their fault); a failed task after a back-off that doubles per consecutive
   * failure, up to max_restarts; a finished one only under ALWAYS, where every end of a run counts as a failure
   * does (as the Borglet counts its restarts in place: a service that keeps exiting 0 is bounded and backs off
   * like one that keeps crashing); a killed one stays dead.
   */
  private endTask(task: TaskRec, event: EventType, exitCode: number, message: string, t: number, idx: number, ch: Changes, streak?: RunStreak): void {
    this.endRun(task, event, exitCode, message, t, idx, ch, streak);
    // A task the rollout took down that is now dead for good no longer holds the rollout back.
    if (task.state === TaskState.DEAD) this.releaseDown(task, t, idx, ch);
  }

  /** endRun: endTask's end of the run and its restart policy, before the rollout hears of a task dead for good. */
  private endRun(task: TaskRec, event: EventType, exitCode: number, message: string, t: number, idx: number, ch: Changes, streak?: RunStreak): void {
    task.exitCode = exitCode;
    // The end event names the machine the task ended on (the scheduler avoids repeating crashed pairings).
    this.moveState(task, event, t, idx, ch, message);
    this.unplace(task, ch);
    const kind = task.spec.restartPolicy?.kind ?? RestartPolicy_Kind.KIND_UNSPECIFIED;
    switch (event) {
      case EventType.EVICT:
      case EventType.LOST:
        // Not the task's fault; and one run that lasted reset_after from its placement to here forgives the
        // failures before it, as a Borglet's streak would have.
        if (task.machineRestarts === 0 && t - task.startTimeMs >= restartTiming(task.spec.restartPolicy).resetAfterMs) task.failures = 0;
        this.resubmit(task, 0, t, idx, ch, `rescheduling after ${EventType[event]}`, true);
        return;
      case EventType.FAIL:
        this.restartAfterEnd(task, event, kind !== RestartPolicy_Kind.NEVER, streak, t, idx, ch);
        return;
      case EventType.FINISH:
        if (kind === RestartPolicy_Kind.ALWAYS) this.restartAfterEnd(task, event, true, streak, t, idx, ch);
        else task.failures = 0;
        return;
      case EventType.KILL:
        return;
      default:
        assert(false, `endTask with ${EventType[event]}`);
    }
  }

  /**
   * restartAfterEnd counts a run that ended as a failure, with the Borglet's restarts of it on this machine (it
   * restarts in place by the same policy before it reports an end: one budget of max_restarts, not one per
   * placement), and, if `restart` and the budget allows, takes the task back to PENDING after a back-off that
   * doubles per consecutive failure. With the Borglet's `streak`, only the runs it ended in a row count, and a run
   * there that lasted the policy's reset_after forgave the failures before it (earlier placements' included).
   */
  private restartAfterEnd(task: TaskRec, event: EventType.FAIL | EventType.FINISH, restart: boolean, streak: RunStreak | undefined, t: number, idx: number, ch: Changes): void {
    if (streak === undefined) task.failures += 1 + task.machineRestarts;
    else task.failures = (streak.reset ? 0 : task.failures) + streak.runs;
    if (!restart) return;
    const policy = task.spec.restartPolicy;
    const maxRestarts = policy?.maxRestarts ?? 0;
    const failed = event === EventType.FAIL;
    if (maxRestarts > 0 && task.failures > maxRestarts) {
      task.message = `${failed ? 'failed' : 'ended'} ${task.failures} times; restart limit ${maxRestarts} reached`;
      return;
    }
    const backoffMs = backoffAfter(restartTiming(policy), task.failures);
    const after = failed ? `failure ${task.failures} (exit ${task.exitCode})` : `FINISH ${task.failures} (policy ALWAYS)`;
    this.resubmit(task, backoffMs, t, idx, ch, `restarting after ${after}; back-off ${backoffMs}ms`, true);
  }

  private transitions(c: TaskTransitions, t: number, idx: number, ch: Changes): CommandResult {
    const list = c.transitions ?? [];
    if (list.length > MAX_TRANSITIONS_PER_COMMAND) {
      throw new InvalidArgument('transitions', `has ${list.length} entries, more than the limit of ${MAX_TRANSITIONS_PER_COMMAND}`);
    }
    // Check the shape of every entry before touching anything: a malformed batch is refused whole.
    list.forEach((tr, i) => {
      const f = `transitions[${i}]`;
      validateTaskIdIn(tr.taskId, `${f}.taskId`, this.cell);
      validateEnum(tr.event, `${f}.event`, TRANSITION_EVENTS, EventType);
      if (tr.event === EventType.SCHEDULE || tr.machine !== '') validateMachineName(tr.machine, `${f}.machine`);
      validateUint(tr.specVersion, `${f}.specVersion`, Number.MAX_SAFE_INTEGER);
      const victims = tr.victimTaskIds ?? [];
      if (victims.length > MAX_VICTIMS_PER_ASSIGNMENT) throw new InvalidArgument(`${f}.victimTaskIds`, `has ${victims.length} entries, more than the limit of ${MAX_VICTIMS_PER_ASSIGNMENT}`);
      if (victims.length > 0 && tr.event !== EventType.SCHEDULE) throw new InvalidArgument(`${f}.victimTaskIds`, 'only SCHEDULE names victims');
      victims.forEach((v, j) => validateTaskIdIn(v, `${f}.victimTaskIds[${j}]`, this.cell));
      validateMessage(tr.message, `${f}.message`);
      validateUint(tr.restarts, `${f}.restarts`, 0xffff_ffff);
      if (tr.restarts !== 0 && tr.event !== EventType.RESTART) throw new InvalidArgument(`${f}.restarts`, 'only RESTART carries a restart count');
      if (tr.streak !== undefined) {
        validateUint(tr.streak, `${f}.streak`, 0xffff_ffff);
        if (tr.event !== EventType.FAIL && tr.event !== EventType.FINISH) throw new InvalidArgument(`${f}.streak`, 'only FAIL and FINISH carry a streak');
        if (tr.streak === 0) throw new InvalidArgument(`${f}.streak`, 'counts the run that ended, so is at least 1');
      } else if (tr.streakReset !== undefined) throw new InvalidArgument(`${f}.streakReset`, 'comes only with a streak');
    });
    const accepted: string[] = [];
    const rejected: RejectedTransition[] = [];
    for (const tr of list) {
      const task = this.getTaskIfValid(tr.taskId); // validated above
      if (task === undefined) {
        rejected.push({ taskId: tr.taskId, reason: 'task not found' });
        continue;
      }
      const reason = tr.event === EventType.SCHEDULE ? this.schedule(task, tr.machine, tr.specVersion, tr.victimTaskIds, t, idx, ch) : this.report(task, tr.event, tr, t, idx, ch);
      if (reason === undefined) accepted.push(tr.taskId);
      else rejected.push({ taskId: tr.taskId, reason });
    }
    return okResult({ acceptedTaskIds: accepted, rejected });
  }

  /** schedule re-checks and commits one assignment; returns the rejection reason or undefined. */
  private schedule(task: TaskRec, machineName: string, specVersion: number, victimIds: string[], t: number, idx: number, ch: Changes): string | undefined {
    const machine = this.machines.get(machineName);
    const victims = victimIds.map((v) => this.getTaskIfValid(v)); // validated by transitions()
    const verdict = checkPlacement(task, machine, specVersion, victims, t);
    if (verdict.kind === 'rejected') return verdict.reason;
    assert(machine !== undefined, 'checked machine exists');
    for (const v of victims) {
      assert(v !== undefined, 'checked victim exists');
      this.endTask(v, EventType.EVICT, 0, `preempted by ${task.id}`, t, idx, ch);
    }
    this.place(task, machine, t, ch);
    task.notBeforeMs = 0;
    // A task the rolling update took down stays down until its Borglet reports it healthy (health()).
    this.moveState(task, EventType.SCHEDULE, t, idx, ch, '');
    return undefined;
  }

  /** report applies a Borglet-observed end of a task (via a link shard); stale reports are refused. */
  private report(task: TaskRec, event: EventType, tr: TaskTransition, t: number, idx: number, ch: Changes): string | undefined {
    const ok = transition(task.state, event);
    if (ok.kind === 'invalid') return ok.reason;
    if (tr.machine !== '' && task.machine?.name !== tr.machine) return `stale report: task is on ${task.machine?.name ?? 'no machine'}, not ${tr.machine}`;
    if (tr.specVersion !== 0 && tr.specVersion !== task.specVersion) return `stale report: task is at spec version ${task.specVersion}, not ${tr.specVersion}`;
    if (event === EventType.RESTART) {
      // The Borglet counts its restarts of the task since it was placed there; what it counted beyond what the state
      // has counted are new restarts (one event for them). A lower count is a Borglet that started over (it lost
      // its records): counting goes on from there.
      if (tr.restarts > task.machineRestarts) {
        task.restarts += tr.restarts - task.machineRestarts;
        this.moveState(task, EventType.RESTART, t, idx, ch, tr.message);
        this.newRun(task, t);
      }
      task.machineRestarts = tr.restarts;
      return undefined;
    }
    if (event === EventType.KILL && task.state === TaskState.PENDING) {
      this.moveState(task, EventType.KILL, t, idx, ch, tr.message);
      this.releaseDown(task, t, idx, ch);
      return undefined;
    }
    const streak = tr.streak === undefined ? undefined : { runs: tr.streak, reset: tr.streakReset === true };
    this.endTask(task, event, tr.exitCode, tr.message, t, idx, ch, streak);
    return undefined;
  }

  private reservations(c: ReservationUpdates, ch: Changes): CommandResult {
    const list = c.updates ?? [];
    if (list.length > MAX_TRANSITIONS_PER_COMMAND) throw new InvalidArgument('updates', `has ${list.length} entries, more than the limit of ${MAX_TRANSITIONS_PER_COMMAND}`);
    const parsed = list.map((u, i) => {
      validateTaskIdIn(u.taskId, `updates[${i}].taskId`, this.cell);
      validateMachineName(u.machine, `updates[${i}].machine`);
      return validateResources(u.reservation, `updates[${i}].reservation`);
    });
    const accepted: string[] = [];
    const rejected: RejectedTransition[] = [];
    list.forEach((u, i) => {
      const task = this.runningOn(u.taskId, u.machine);
      if (task === undefined) {
        rejected.push({ taskId: u.taskId, reason: 'task is not running on that machine' });
        return;
      }
      const limit = limitOf(task);
      const next = quantiseReservation(parsed[i] as Resources, limit);
      const current = reservationOf(task);
      if (equal(next, current)) return; // quantisation absorbed the change: no churn
      const machine = task.machine;
      charge(machine, { cpuMillis: 0, ramBytes: 0, diskBytes: 0, ports: 0 }, current, -1, false);
      charge(machine, { cpuMillis: 0, ramBytes: 0, diskBytes: 0, ports: 0 }, next, 1, false);
      task.reservation = equal(next, limit) ? undefined : next;
      machine.generation++;
      ch.machines.add(machine);
      ch.tasks.add(task);
      accepted.push(u.taskId);
    });
    return okResult({ acceptedTaskIds: accepted, rejected });
  }

  /**
   * health applies what Borglets report of their running tasks' health (B15 §2.6). A task the rolling update took
   * down is up again when it is healthy: only then may the rollout take down the next one.
   */
  private health(c: HealthUpdates, t: number, idx: number, ch: Changes): CommandResult {
    const list = c.updates ?? [];
    if (list.length > MAX_TRANSITIONS_PER_COMMAND) throw new InvalidArgument('updates', `has ${list.length} entries, more than the limit of ${MAX_TRANSITIONS_PER_COMMAND}`);
    list.forEach((u, i) => {
      validateTaskIdIn(u.taskId, `updates[${i}].taskId`, this.cell);
      validateMachineName(u.machine, `updates[${i}].machine`);
    });
    const accepted: string[] = [];
    const rejected: RejectedTransition[] = [];
    for (const u of list) {
      const task = this.runningOn(u.taskId, u.machine);
      if (task === undefined) {
        rejected.push({ taskId: u.taskId, reason: 'task is not running on that machine' });
        continue;
      }
      accepted.push(u.taskId);
      if (!this.setHealth(task, u.healthy, t)) continue;
      ch.tasks.add(task);
      // A task with a health check has its passes and failures in the event history (one without one is healthy
      // whenever its Borglet runs it, which SCHEDULE and RESTART already say).
      const check = task.spec.healthCheck;
      if (check !== undefined && check.httpPath !== '') {
        this.moveState(task, u.healthy ? EventType.HEALTHY : EventType.UNHEALTHY, t, idx, ch, `health check ${probeText(check)} ${u.healthy ? 'passing' : 'not passing'}`);
      }
      if (u.healthy) this.releaseDown(task, t, idx, ch);
    }
    return okResult({ acceptedTaskIds: accepted, rejected });
  }

  /** runningOn: the task (id validated) if it runs on that machine; what a Borglet's report about it needs. */
  private runningOn(taskId: string, machine: string): (TaskRec & { machine: MachineRec }) | undefined {
    const task = this.getTaskIfValid(taskId);
    return task?.state === TaskState.RUNNING && task.machine?.name === machine ? (task as TaskRec & { machine: MachineRec }) : undefined;
  }

  /** setHealth records a change of the task's health at time t; false when it already was so. */
  private setHealth(task: TaskRec, healthy: boolean, t: number): boolean {
    if (task.healthy === healthy) return false;
    task.healthy = healthy;
    task.healthTimeMs = t;
    task.job.healthy += healthy ? 1 : -1;
    return true;
  }

  /** newRun: a run starts (placed, or restarted on its machine) not healthy, until its Borglet reports otherwise. */
  private newRun(task: TaskRec, t: number): void {
    this.setHealth(task, false, t);
    task.healthTimeMs = t;
  }

  /** releaseDown: a task the rolling update took down is up again (or gone for good); the rollout moves on. */
  private releaseDown(task: TaskRec, t: number, idx: number, ch: Changes): void {
    if (!task.updateDown) return;
    task.updateDown = false;
    task.job.downCount--;
    this.advanceRollout(task.job, t, idx, ch);
  }

  // ---------------------------------------------------------------- machines and quotas

  private registerMachine(c: RegisterMachineCommand, ch: Changes): CommandResult {
    const m = validateMachine(c.machine, 'machine');
    const existing = this.machines.get(m.name);
    const capacity = m.capacity as Resources;
    if (existing === undefined) {
      if (this.machines.size >= MAX_MACHINES_PER_CELL) throw new BorgError('resource_exhausted', `cell ${this.cell} already has ${this.machines.size} machines`);
      const rec: MachineRec = {
        name: m.name,
        address: m.address,
        capacity,
        attributes: m.attributes,
        rack: m.rack,
        powerDomain: m.powerDomain,
        state: m.state,
        generation: 1,
        tasks: new Set(),
        allocatedLimit: { cpuMillis: 0, ramBytes: 0, diskBytes: 0, ports: 0 },
        allocatedReservation: { cpuMillis: 0, ramBytes: 0, diskBytes: 0, ports: 0 },
        prodLimit: { cpuMillis: 0, ramBytes: 0, diskBytes: 0, ports: 0 },
        usedPorts: new Set(),
        portBase: m.portBase,
      };
      this.machines.set(m.name, rec);
      ch.machines.add(rec);
      return okResult();
    }
    // Re-registration updates the machine's shape; its state changes only when the command names one.
    const state = c.machine?.state === MachineState.MACHINE_STATE_UNSPECIFIED ? existing.state : m.state;
    const changed =
      existing.address !== m.address ||
      !equal(existing.capacity, capacity) ||
      JSON.stringify(existing.attributes) !== JSON.stringify(m.attributes) ||
      existing.rack !== m.rack ||
      existing.powerDomain !== m.powerDomain ||
      existing.state !== state ||
      existing.portBase !== m.portBase;
    if (changed) {
      existing.address = m.address;
      existing.capacity = capacity;
      existing.attributes = m.attributes;
      existing.rack = m.rack;
      existing.powerDomain = m.powerDomain;
      existing.state = state;
      existing.portBase = m.portBase;
      existing.generation++;
      ch.machines.add(existing);
    }
    return okResult();
  }

  private setMachineState(c: SetMachineStateCommand, ch: Changes): CommandResult {
    const name = validateMachineName(c.machine, 'machine');
    const state = validateEnum(c.state, 'state', SETTABLE_MACHINE_STATES, MachineState);
    validateMessage(c.reason, 'reason');
    const m = this.machines.get(name);
    if (m === undefined) throw new NotFound(`machine ${name}`);
    if (m.state !== state) {
      m.state = state;
      m.generation++;
      ch.machines.add(m);
    }
    return okResult();
  }

  /** admitQuotaShape checks the fields of a quota (no state needed). */
  admitQuotaShape(c: SetQuotaCommand): QuotaRec {
    const user = validateName(c.user, 'quota.user');
    const band = validateEnum(c.band, 'quota.band', QUOTA_BANDS, PriorityBand);
    if (isUnlimited(band)) throw new InvalidArgument('quota.band', 'the FREE band (priority 0-99) is unlimited and takes no quota');
    const limit = validateResources(c.limit, 'quota.limit');
    return { user, band, limit };
  }

  /** admitQuota is the check phase of SetQuota: the FREE band takes no quota; prod quotas fit the cell. */
  admitQuota(c: SetQuotaCommand): QuotaRec {
    const { user, band, limit } = this.admitQuotaShape(c);
    if (isProdBand(band)) {
      let total = addUsage(zeroUsage(), limit);
      for (const q of this.quotas.values()) if (isProdBand(q.band) && !(q.user === user && q.band === band)) total = addUsage(total, q.limit);
      const capacity = this.cellCapacity();
      const over = quotaShortfall(total, capacity);
      if (over.length > 0) {
        throw new BorgError(
          'failed_precondition',
          `prod quotas of cell ${this.cell} would exceed its capacity (${formatResources(capacity as Resources)}) in ${bandName(band)}: ${over.join('; ').replaceAll('quota', 'capacity')}`,
        );
      }
    }
    return { user, band, limit };
  }

  private setQuota(c: SetQuotaCommand, ch: Changes): CommandResult {
    const q = this.admitQuota(c);
    this.quotas.set(bandKey(q.user, q.band), q);
    ch.quotas.add(q);
    return okResult();
  }

  // ---------------------------------------------------------------- invariants

  /** checkInvariants recomputes every derived number from scratch and asserts it matches (tests, restore). */
  checkInvariants(): void {
    let tasks = 0;
    let placedTotal = 0;
    const usage = new Map<string, Usage>();
    for (const job of this.jobs.values()) {
      assert(job.tasks.length === job.current.spec.taskCount, `job ${job.id} has ${job.tasks.length} tasks, spec says ${job.current.spec.taskCount}`);
      let pending = 0;
      let running = 0;
      let dead = 0;
      let down = 0;
      const refs = new Map<number, number>();
      job.tasks.forEach((task, i) => {
        assert(task.index === i && task.job === job, `task ${task.id} indexed`);
        assert(task.id === `${job.id}/${i}`, `task id ${task.id}`);
        refs.set(task.specVersion, (refs.get(task.specVersion) ?? 0) + 1);
        if (task.state === TaskState.PENDING) pending++;
        else if (task.state === TaskState.RUNNING) running++;
        else if (task.state === TaskState.DEAD) dead++;
        else assert(false, `task ${task.id} in state ${task.state}`);
        if (task.updateDown) down++;
        assert((task.state === TaskState.RUNNING) === (task.machine !== undefined), `task ${task.id}: running iff placed`);
        assert(!task.healthy || task.state === TaskState.RUNNING, `task ${task.id}: healthy only while running`);
        if (task.machine !== undefined) {
          assert(task.machine.tasks.has(task), `task ${task.id} is in its machine's task set`);
          placedTotal++;
        }
      });
      assert(job.pending === pending && job.running === running && job.dead === dead, `job ${job.id} counts`);
      assert(job.healthy === job.tasks.filter((task) => task.healthy).length, `job ${job.id} healthy count`);
      assert(job.downCount === down, `job ${job.id} downCount ${job.downCount} vs ${down}`);
      for (const [version, v] of job.specs) assert(v.refs === (refs.get(version) ?? 0), `job ${job.id} v${version} refs`);
      for (const version of refs.keys()) assert(job.specs.has(version), `job ${job.id} v${version} kept`);
      assert(job.id === formatJobId({ cell: this.cell, user: job.user, job: job.name }), `job id ${job.id}`);
      tasks += job.tasks.length;
      const key = bandKey(job.user, bandOf(job.current.spec.priority));
      usage.set(key, addUsage(usage.get(key) ?? zeroUsage(), jobDemand(job.current.spec)));
    }
    assert(tasks === this._taskCount, `task count ${this._taskCount} vs ${tasks}`);
    let inMachineSets = 0;
    for (const m of this.machines.values()) {
      // Every task placed is in its machine's set (above) and every member of a set is a live task placed there:
      // with equal totals, placements and sets are the same relation.
      const placed = m.tasks;
      inMachineSets += placed.size;
      // Accumulate in place: this runs over every task of a restored checkpoint.
      const limit = zeroUsage();
      const reservation = zeroUsage();
      const prodLimit = zeroUsage();
      let ports = 0;
      for (const t of placed) {
        assert(t.machine === m && t.job.tasks[t.index] === t && this.jobs.get(t.job.id) === t.job, `machine ${m.name} holds a live task ${t.id} placed there`);
        const l = limitOf(t);
        const r = reservationOf(t);
        limit.cpuMillis += l.cpuMillis;
        limit.ramBytes += l.ramBytes;
        limit.diskBytes += l.diskBytes;
        limit.ports += l.ports;
        reservation.cpuMillis += r.cpuMillis;
        reservation.ramBytes += r.ramBytes;
        reservation.diskBytes += r.diskBytes;
        reservation.ports += r.ports;
        if (isProd(priorityOf(t))) {
          prodLimit.cpuMillis += l.cpuMillis;
          prodLimit.ramBytes += l.ramBytes;
          prodLimit.diskBytes += l.diskBytes;
          prodLimit.ports += l.ports;
        }
        ports += t.ports.length;
        for (const p of t.ports) assert(m.usedPorts.has(p), `port ${p} of ${t.id} marked used`);
      }
      assert(ports === m.usedPorts.size, `machine ${m.name} ports`);
      for (const d of ['cpuMillis', 'ramBytes', 'diskBytes', 'ports'] as const) {
        assert(limit[d] === m.allocatedLimit[d], `machine ${m.name} allocated limit ${d}`);
        assert(reservation[d] === m.allocatedReservation[d], `machine ${m.name} allocated reservation ${d}`);
        assert(prodLimit[d] === m.prodLimit[d], `machine ${m.name} prod limit ${d}`);
      }
    }
    assert(inMachineSets === placedTotal, `machines hold ${inMachineSets} tasks, ${placedTotal} are placed`);
    assert(usage.size === this.usage.size, 'usage keys');
    for (const [k, u] of usage) {
      const have = this.usage.get(k);
      assert(have !== undefined && (['cpuMillis', 'ramBytes', 'diskBytes', 'ports'] as const).every((d) => have[d] === u[d]), `usage ${k}`);
    }
  }
}

/** diffSpecs describes an update in one line, field by field. */
export function diffSpecs(a: JobSpec, b: JobSpec, restarted: number): string {
  const parts: string[] = [];
  if (a.priority !== b.priority) parts.push(`priority ${a.priority} -> ${b.priority}`);
  if (a.taskCount !== b.taskCount) parts.push(`taskCount ${a.taskCount} -> ${b.taskCount}`);
  if (!jobSpecBytes({ ...a, priority: 0, taskCount: 0, annotations: {}, updatePolicy: undefined, spread: undefined }).equals(jobSpecBytes({ ...b, priority: 0, taskCount: 0, annotations: {}, updatePolicy: undefined, spread: undefined }))) {
    parts.push('task spec changed');
  }
  if ((a.updatePolicy?.maxTasksDown ?? 1) !== (b.updatePolicy?.maxTasksDown ?? 1)) parts.push(`updatePolicy.maxTasksDown ${a.updatePolicy?.maxTasksDown ?? 1} -> ${b.updatePolicy?.maxTasksDown ?? 1}`);
  if (JSON.stringify(a.spread) !== JSON.stringify(b.spread)) parts.push('spread changed');
  if (JSON.stringify(a.annotations) !== JSON.stringify(b.annotations)) parts.push('annotations changed');
  parts.push(`${restarted} task(s) restart`);
  return parts.join('; ');
}
