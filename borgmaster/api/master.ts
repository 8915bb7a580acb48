// Master is one Borgmaster replica's API core (DESIGN.md §4, §5): the BorgMaster service's handlers over an
// injected ReplicatedLog and the replica's CellState. Writes go: validate every field -> authorize the caller
// (from its client certificate) -> answer a retried request id from the replicated request cache -> only the
// leader goes on -> admission against the current state (quota etc.) -> one command through the log -> the
// result the state remembered for that request id. Reads are served by any replica, tagged with the log index
// they reflect. The log calls applyEntry() for every chosen slot, in order, on every replica.
import { assert } from '../../model/assert';
import type { Clock } from '../../model/clock';
import { BorgError, InvalidArgument, NotFound, NotLeader, PermissionDenied, Unavailable } from '../../model/errors';
import { validateMachineName, validateName } from '../../model/ids';
import type { Resources } from '../../model/resources';
import { EVENT_TYPES } from '../../model/task_state';
import {
  Command,
  EventType,
  MachineState,
  TaskLogsRequest_Stream,
  TaskState,
  type Ballot,
  type CellStatusResponse,
  type CommandResult,
  type CommitPlanRequest,
  type CommitPlanResponse,
  type CreateJobRequest,
  type CreateJobResponse,
  type DrainMachineRequest,
  type DrainMachineResponse,
  type GetJobRequest,
  type GetJobResponse,
  type GetTaskRequest,
  type GetTaskResponse,
  type KillJobRequest,
  type KillJobResponse,
  type ListEventsRequest,
  type ListEventsResponse,
  type ListJobsRequest,
  type ListJobsResponse,
  type ListMachinesRequest,
  type ListMachinesResponse,
  type ListQuotasRequest,
  type ListQuotasResponse,
  type ListTasksRequest,
  type ListTasksResponse,
  type Machine,
  type ReadInfo,
  type ReplicaStatus,
  type SaveCheckpointResponse,
  type SetQuotaRequest,
  type SetQuotaResponse,
  type Task,
  type TaskEvent,
  type TaskLogsRequest,
  type TaskLogsResponse,
  type UndrainMachineRequest,
  type UndrainMachineResponse,
  type UpdateJobRequest,
  type UpdateJobResponse,
  type WatchRequest,
} from '../../proto/index';
import { LIST_PAGE_SIZE_DEFAULT, LIST_PAGE_SIZE_MAX, LOG_TAIL_MAX_BYTES, PAXOS_MAX_BATCH_BYTES, PROPOSE_TIMEOUT_MS } from '../../cells/limits';
import {
  CellState,
  jobView,
  machineView,
  quotaView,
  requestKey,
  restore,
  snapshot,
  taskView,
  validateEnum,
  validateJobSpec,
  validateRequestId,
  validateTaskIdIn,
  validateUint,
  type ApplyOutcome,
  type Changes,
  type MachineRec,
  type TaskRec,
} from '../state/index';
import { commitPlan, WhyPendingStore } from '../plan/index';
import type { PeerIdentity } from '../../cells/security/index';
import { WatchHub, type Watcher, type WatchHubOptions } from './watch_hub';

/**
 * ReplicatedLog is what the API needs from the replicated log (the Multi-Paxos node in production).
 * propose() resolves with the log index once the commands were chosen AND applied on this replica through
 * Master.applyEntry; it rejects (NotLeader or Unavailable) when they may not have been.
 */
export interface ReplicatedLog {
  propose(commands: Uint8Array[]): Promise<number>;
  isLeader(): boolean;
  /** leaderAddress is the API address of the leader as far as this replica knows. */
  leaderAddress(): string | undefined;
  /** status describes the replicas for CellStatus (optional: a single replica has nothing more to say). */
  status?(): LogStatus;
}

export interface LogStatus {
  leaderReplica: number;
  ballot: Ballot | undefined;
  replicas: ReplicaStatus[];
}

/** TaskLogSource fetches a task's log tail from its Borglet (wired by the replica process). */
export interface TaskLogSource {
  tail(req: { taskId: string; machine: string; machineAddress: string; stream: TaskLogsRequest_Stream; tailBytes: number }): Promise<TaskLogsResponse>;
}

/** UsageSource: the latest usage samples a replica holds (a UsageBook). */
export interface UsageSource {
  machineSample(machine: string): { readonly usage: Resources; readonly sampledMs: number } | undefined;
  task(taskId: string): Resources | undefined;
}

export interface MasterOptions {
  cell: string;
  replicaId: number;
  log: ReplicatedLog;
  /** clock stamps time into commands this replica proposes as leader. */
  clock: Clock;
  /** admins: identities with the admin role besides certificates that carry it (cells config `admins`). */
  admins: readonly string[];
  taskLogs?: TaskLogSource;
  /**
   * usage: soft state of the replicas' link shards (status/usage_book.ts): the usage each machine's Borglet last
   * reported and when it last answered a poll, and each task's. ListMachines fills Machine.usage and last_poll_ms
   * from it; GetTask and ListTasks fill a running task's Task.usage.
   */
  usage?: UsageSource;
  watch?: WatchHubOptions;
  proposeTimeoutMs?: number;
}

/** Roles a caller needs, checked in one place. */
export function isAdmin(who: PeerIdentity, admins: readonly string[]): boolean {
  return who.roles.includes('admin') || admins.includes(who.commonName);
}

const PAGE_TOKEN = /^(0|[1-9][0-9]{0,15})$/;
const TASK_EVENTS_IN_GET_TASK = 100;

export function parsePage(pageSize: unknown, pageToken: unknown): { offset: number; size: number } {
  const size = validateUint(pageSize ?? 0, 'pageSize', LIST_PAGE_SIZE_MAX) || LIST_PAGE_SIZE_DEFAULT;
  if (pageToken === undefined || pageToken === '') return { offset: 0, size };
  if (typeof pageToken !== 'string' || !PAGE_TOKEN.test(pageToken)) throw new InvalidArgument('pageToken', 'is not a token returned by a previous page');
  return { offset: Number(pageToken), size };
}

function page<T>(all: Iterable<T>, offset: number, size: number): { items: T[]; next: string } {
  const items: T[] = [];
  let i = 0;
  for (const x of all) {
    if (i >= offset + size) return { items, next: String(offset + size) };
    if (i >= offset) items.push(x);
    i++;
  }
  return { items, next: '' };
}

/** resultError turns a failed CommandResult back into the BorgError it was made from. */
export function resultError(r: CommandResult): BorgError {
  assert(!r.ok, 'resultError of a successful result');
  if (r.errorCode === 'invalid_argument' && r.errorField !== '') {
    const prefix = `${r.errorField}: `;
    return new InvalidArgument(r.errorField, r.errorMessage.startsWith(prefix) ? r.errorMessage.slice(prefix.length) : r.errorMessage);
  }
  return new BorgError(r.errorCode as BorgError['code'], r.errorMessage);
}

async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Unavailable(`${what} was not committed within ${ms}ms; retry with the same request id`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export class Master {
  state: CellState;
  readonly whyPending = new WhyPendingStore();
  readonly watch: WatchHub;
  private readonly log: ReplicatedLog;

  constructor(readonly options: MasterOptions) {
    validateName(options.cell, 'cell');
    this.state = new CellState(options.cell);
    this.log = options.log;
    this.watch = new WatchHub(() => this.state, (t) => this.renderTask(t), options.watch);
  }

  get cell(): string {
    return this.options.cell;
  }

  // ------------------------------------------------------------ the log's callbacks

  /** applyEntry applies all commands of one chosen slot, in order, and publishes their changes to watchers. */
  applyEntry(commands: readonly Uint8Array[], logIndex: number): ApplyOutcome[] {
    const outcomes = commands.map((c) => this.state.applyEncoded(c, logIndex));
    const changes: Changes[] = outcomes.map((o) => o.changes);
    // A verdict says why a task is pending: once the task is placed, killed or gone it says nothing. A follower is
    // handed every verdict the leader shares and a killed pending task never reaches a plan, so without this a
    // replica would keep one verdict per task that was ever pending (up to the cell's size, ~100 B each).
    for (const ch of changes) {
      for (const e of ch.events) if (e.type === EventType.SCHEDULE || e.type === EventType.KILL) this.whyPending.delete(e.taskId);
      for (const id of ch.deletedTaskIds) this.whyPending.delete(id);
    }
    this.watch.publish(logIndex, changes);
    return outcomes;
  }

  /** snapshot is the log's snapshot callback: the whole state as a checkpoint. */
  snapshot(): Uint8Array {
    return snapshot(this.state);
  }

  /** restoreSnapshot replaces the state (a lagging replica catching up from a checkpoint); watchers start over. */
  restoreSnapshot(bytes: Uint8Array): void {
    const next = restore(bytes);
    assert(next.cell === this.cell, `checkpoint of cell ${next.cell} given to cell ${this.cell}`);
    this.state = next;
    this.watch.reset();
  }

  // ------------------------------------------------------------ helpers

  readInfo(): ReadInfo {
    return { replica: this.options.replicaId, logIndex: this.state.appliedIndex, leader: this.log.isLeader() };
  }

  private whyFor(t: TaskRec): string {
    if (t.state !== TaskState.PENDING) return '';
    if (t.notBeforeMs > this.state.timeMs) return `in restart back-off until ${new Date(t.notBeforeMs).toISOString()} (${t.message})`;
    return this.whyPending.get(t.id) ?? '';
  }

  /** renderTask: the task's record, its verdict if pending, and its latest usage sample if running. */
  renderTask(t: TaskRec): Task {
    const v = taskView(t, this.cell, this.whyFor(t));
    const used = t.state === TaskState.RUNNING ? this.options.usage?.task(t.id) : undefined;
    if (used !== undefined) v.usage = { ...used };
    return v;
  }

  /** renderMachine: the machine's record, with what the link shards last heard from its Borglet. */
  private renderMachine(m: MachineRec): Machine {
    const v = machineView(m);
    const sample = this.options.usage?.machineSample(m.name);
    if (sample !== undefined) {
      v.usage = { ...sample.usage };
      v.lastPollMs = sample.sampledMs;
    }
    return v;
  }

  private requireAdmin(who: PeerIdentity, what: string): void {
    if (!isAdmin(who, this.options.admins)) throw new PermissionDenied(`${what} needs the admin role; ${who.commonName} does not have it`);
  }

  private requireOwner(who: PeerIdentity, user: string, what: string): void {
    if (who.commonName !== user && !isAdmin(who, this.options.admins)) {
      throw new PermissionDenied(`${who.commonName} may not ${what} of user ${user}: users change only their own jobs`);
    }
  }

  /**
   * propose runs the write path after validation and authorization: the remembered answer of a retried request,
   * else (leader only) admission then one command through the log. Resolves with the applied result; a failed
   * result is thrown as its BorgError.
   */
  private async propose(who: PeerIdentity, requestId: string, body: NonNullable<Command['body']>, admit: () => void): Promise<CommandResult> {
    const cmd: Command = { requestId, caller: who.commonName, timeMs: 0, body };
    const cached = this.state.cachedResult(who.commonName, requestId, cmd);
    if (cached !== undefined) {
      if (!cached.sameRequest) throw new InvalidArgument('requestId', `${JSON.stringify(requestId)} was already used for a different request`);
      if (!cached.result.ok) throw resultError(cached.result);
      return cached.result;
    }
    if (!this.log.isLeader()) throw new NotLeader(this.log.leaderAddress());
    admit();
    cmd.timeMs = this.options.clock.nowMs();
    const bytes = Command.encode(cmd).finish();
    if (bytes.length > PAXOS_MAX_BATCH_BYTES) throw new InvalidArgument('request', `encodes to ${bytes.length} bytes, more than one log entry holds (${PAXOS_MAX_BATCH_BYTES})`);
    try {
      await withTimeout(this.log.propose([bytes]), this.options.proposeTimeoutMs ?? PROPOSE_TIMEOUT_MS, `request ${requestId}`);
    } catch (e: unknown) {
      if (e instanceof BorgError) throw e;
      throw new Unavailable(`the log did not accept request ${requestId}: ${e instanceof Error ? e.message : String(e)}; retry with the same request id`, { cause: e });
    }
    const hit = this.state.requests.get(requestKey(who.commonName, requestId));
    if (hit === undefined) throw new Unavailable(`request ${requestId} was applied but its result is no longer remembered`);
    if (!hit.result.ok) throw resultError(hit.result);
    return hit.result;
  }

  // ------------------------------------------------------------ writes

  async createJob(req: CreateJobRequest, who: PeerIdentity): Promise<CreateJobResponse> {
    const requestId = validateRequestId(req.requestId);
    const spec = validateJobSpec(req.spec, 'spec', this.cell);
    this.requireOwner(who, spec.user, 'create jobs');
    const r = await this.propose(who, requestId, { $case: 'createJob', value: { spec } }, () => this.state.admitCreate(spec));
    const job = this.state.getJob(spec.user, spec.name);
    return { job: job === undefined ? undefined : jobView(job), logIndex: r.logIndex };
  }

  async updateJob(req: UpdateJobRequest, who: PeerIdentity): Promise<UpdateJobResponse> {
    const spec = validateJobSpec(req.spec, 'spec', this.cell);
    this.requireOwner(who, spec.user, 'update jobs');
    if (req.dryRun) {
      if (req.requestId !== '') validateRequestId(req.requestId);
      const p = this.state.previewUpdate(spec);
      return { job: jobView(p.job), logIndex: this.state.appliedIndex, restartedTaskIds: p.restartedTaskIds, diff: p.diff };
    }
    const requestId = validateRequestId(req.requestId);
    let diff = '';
    const r = await this.propose(who, requestId, { $case: 'updateJob', value: { spec } }, () => {
      diff = this.state.previewUpdate(spec).diff;
    });
    const job = this.state.getJob(spec.user, spec.name);
    return { job: job === undefined ? undefined : jobView(job), logIndex: r.logIndex, restartedTaskIds: r.restartedTaskIds, diff };
  }

  async killJob(req: KillJobRequest, who: PeerIdentity): Promise<KillJobResponse> {
    const requestId = validateRequestId(req.requestId);
    const user = validateName(req.user, 'user');
    const job = validateName(req.job, 'job');
    this.requireOwner(who, user, 'kill jobs');
    const r = await this.propose(who, requestId, { $case: 'killJob', value: { user, job } }, () => this.state.admitKill({ user, job }));
    return { logIndex: r.logIndex };
  }

  private async setMachineState(req: { requestId: string; machine: string }, who: PeerIdentity, to: MachineState, what: string): Promise<{ logIndex: number }> {
    const requestId = validateRequestId(req.requestId);
    const name = validateMachineName(req.machine, 'machine');
    this.requireAdmin(who, what);
    const r = await this.propose(who, requestId, { $case: 'setMachineState', value: { machine: name, state: to, reason: `${what} by ${who.commonName}` } }, () => {
      const m = this.state.machines.get(name);
      if (m === undefined) throw new NotFound(`machine ${name}`);
      if (m.state === MachineState.DOWN) throw new BorgError('failed_precondition', `machine ${name} is DOWN; it comes back UP when its Borglet answers polls again`);
    });
    return { logIndex: r.logIndex };
  }

  drainMachine(req: DrainMachineRequest, who: PeerIdentity): Promise<DrainMachineResponse> {
    return this.setMachineState(req, who, MachineState.DRAINING, 'DrainMachine');
  }

  undrainMachine(req: UndrainMachineRequest, who: PeerIdentity): Promise<UndrainMachineResponse> {
    return this.setMachineState(req, who, MachineState.UP, 'UndrainMachine');
  }

  async setQuota(req: SetQuotaRequest, who: PeerIdentity): Promise<SetQuotaResponse> {
    const requestId = validateRequestId(req.requestId);
    const q = req.quota;
    if (q === undefined) throw new InvalidArgument('quota', 'is required');
    if (q.cell !== '' && q.cell !== this.cell) throw new InvalidArgument('quota.cell', `is ${JSON.stringify(q.cell)} but this is cell ${JSON.stringify(this.cell)}`);
    if (q.used !== undefined) throw new InvalidArgument('quota.used', 'is computed by the master and cannot be set');
    const value = { user: q.user, band: q.band, limit: q.limit };
    // Check the fields before the role, so a malformed request is INVALID_ARGUMENT for everyone.
    const checked = this.state.admitQuotaShape(value);
    this.requireAdmin(who, 'SetQuota');
    const r = await this.propose(who, requestId, { $case: 'setQuota', value: checked }, () => this.state.admitQuota(checked));
    return { logIndex: r.logIndex };
  }

  async commitPlan(req: CommitPlanRequest, who: PeerIdentity): Promise<CommitPlanResponse> {
    if (!who.roles.includes('scheduler') && !isAdmin(who, this.options.admins)) throw new PermissionDenied(`CommitPlan needs the scheduler role; ${who.commonName} does not have it`);
    if (!this.log.isLeader()) throw new NotLeader(this.log.leaderAddress());
    return commitPlan(this.state, this.whyPending, req, (body, requestId) => this.propose(who, requestId, body, () => {}), this.options.clock.nowMs());
  }

  saveCheckpoint(who: PeerIdentity): SaveCheckpointResponse {
    this.requireAdmin(who, 'SaveCheckpoint');
    const bytes = this.snapshot();
    return { logIndex: this.state.appliedIndex, checkpoint: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length) };
  }

  // ------------------------------------------------------------ reads

  getJob(req: GetJobRequest): GetJobResponse {
    const user = validateName(req.user, 'user');
    const name = validateName(req.job, 'job');
    const job = this.state.getJob(user, name);
    if (job === undefined) throw new NotFound(`job ${this.cell}/${user}/${name}`);
    // A job's first LIST_PAGE_SIZE_MAX tasks; ListTasks pages through the rest.
    return { read: this.readInfo(), job: jobView(job), tasks: job.tasks.slice(0, LIST_PAGE_SIZE_MAX).map((t) => this.renderTask(t)) };
  }

  listJobs(req: ListJobsRequest): ListJobsResponse {
    const user = req.user === '' ? undefined : validateName(req.user, 'user');
    const { offset, size } = parsePage(req.pageSize, req.pageToken);
    const all = [...this.state.jobs.values()].filter((j) => user === undefined || j.user === user);
    const p = page(all, offset, size);
    return { read: this.readInfo(), jobs: p.items.map(jobView), nextPageToken: p.next };
  }

  listTasks(req: ListTasksRequest): ListTasksResponse {
    const user = req.user === '' ? undefined : validateName(req.user, 'user');
    const jobName = req.job === '' ? undefined : validateName(req.job, 'job');
    if (jobName !== undefined && user === undefined) throw new InvalidArgument('user', 'is required when job is given');
    const machine = req.machine === '' ? undefined : validateMachineName(req.machine, 'machine');
    const state = req.state === TaskState.TASK_STATE_UNSPECIFIED ? undefined : validateEnum(req.state, 'state', [TaskState.PENDING, TaskState.RUNNING, TaskState.DEAD], TaskState);
    const { offset, size } = parsePage(req.pageSize, req.pageToken);
    const s = this.state;
    function* candidates(): Generator<TaskRec> {
      if (machine !== undefined) {
        const m = s.machines.get(machine);
        if (m !== undefined) yield* m.tasks;
        return;
      }
      if (user !== undefined && jobName !== undefined) {
        const j = s.getJob(user, jobName);
        if (j !== undefined) yield* j.tasks;
        return;
      }
      for (const j of s.jobs.values()) if (user === undefined || j.user === user) yield* j.tasks;
    }
    function* filtered(): Generator<TaskRec> {
      for (const t of candidates()) {
        if (user !== undefined && t.job.user !== user) continue;
        if (jobName !== undefined && t.job.name !== jobName) continue;
        if (state !== undefined && t.state !== state) continue;
        yield t;
      }
    }
    const p = page(filtered(), offset, size);
    return { read: this.readInfo(), tasks: p.items.map((t) => this.renderTask(t)), nextPageToken: p.next };
  }

  getTask(req: GetTaskRequest): GetTaskResponse {
    validateTaskIdIn(req.taskId, 'taskId', this.cell);
    const t = this.state.lookupTask(req.taskId);
    if (t === undefined) throw new NotFound(`task ${req.taskId}`);
    const events: TaskEvent[] = [];
    this.state.events.forEach((e) => {
      if (e.taskId === t.id) events.push(e);
    });
    return { read: this.readInfo(), task: this.renderTask(t), events: events.slice(-TASK_EVENTS_IN_GET_TASK) };
  }

  listMachines(req: ListMachinesRequest): ListMachinesResponse {
    const state = req.state === MachineState.MACHINE_STATE_UNSPECIFIED ? undefined : validateEnum(req.state, 'state', [MachineState.UP, MachineState.DRAINING, MachineState.DOWN], MachineState);
    const { offset, size } = parsePage(req.pageSize, req.pageToken);
    const all = [...this.state.machines.values()].filter((m) => state === undefined || m.state === state);
    const p = page(all, offset, size);
    return { read: this.readInfo(), machines: p.items.map((m) => this.renderMachine(m)), nextPageToken: p.next };
  }

  listQuotas(req: ListQuotasRequest): ListQuotasResponse {
    const user = req.user === '' ? undefined : validateName(req.user, 'user');
    const quotas = [...this.state.quotas.values()]
      .filter((q) => user === undefined || q.user === user)
      .map((q) => quotaView(q, this.cell, this.state.quotaUsed(q.user, q.band)));
    return { read: this.readInfo(), quotas };
  }

  listEvents(req: ListEventsRequest): ListEventsResponse {
    const user = req.user === '' ? undefined : validateName(req.user, 'user');
    const job = req.job === '' ? undefined : validateName(req.job, 'job');
    const machine = req.machine === '' ? undefined : validateMachineName(req.machine, 'machine');
    const taskId = req.taskId === '' ? undefined : (validateTaskIdIn(req.taskId, 'taskId', this.cell), req.taskId);
    const types = new Set(req.types.map((t, i) => validateEnum(t, `types[${i}]`, EVENT_TYPES, EventType)));
    const sinceMs = validateUint(req.sinceMs, 'sinceMs', Number.MAX_SAFE_INTEGER);
    const { offset, size } = parsePage(req.pageSize, req.pageToken);
    const s = this.state;
    function* matching(): Generator<TaskEvent> {
      const out: TaskEvent[] = [];
      s.events.forEach((e) => {
        if (e.timeMs < sinceMs) return;
        if (user !== undefined && e.user !== user) return;
        if (job !== undefined && e.job !== job) return;
        if (machine !== undefined && e.machine !== machine) return;
        if (taskId !== undefined && e.taskId !== taskId) return;
        if (types.size > 0 && !types.has(e.type)) return;
        out.push(e);
      });
      yield* out;
    }
    const p = page(matching(), offset, size);
    return { read: this.readInfo(), events: p.items, nextPageToken: p.next };
  }

  cellStatus(): CellStatusResponse {
    let up = 0;
    let draining = 0;
    let down = 0;
    for (const m of this.state.machines.values()) {
      if (m.state === MachineState.UP) up++;
      else if (m.state === MachineState.DRAINING) draining++;
      else if (m.state === MachineState.DOWN) down++;
    }
    let running = 0;
    let pending = 0;
    for (const j of this.state.jobs.values()) {
      running += j.running;
      pending += j.pending;
    }
    const st = this.log.status?.();
    return {
      read: this.readInfo(),
      cell: this.cell,
      leaderReplica: st?.leaderReplica ?? (this.log.isLeader() ? this.options.replicaId : 0),
      leaderAddress: this.log.leaderAddress() ?? '',
      ballot: st?.ballot,
      replicas: st?.replicas ?? [],
      machinesUp: up,
      machinesDraining: draining,
      machinesDown: down,
      tasksRunning: running,
      tasksPending: pending,
      jobs: this.state.jobs.size,
    };
  }

  async taskLogs(req: TaskLogsRequest): Promise<TaskLogsResponse> {
    validateTaskIdIn(req.taskId, 'taskId', this.cell);
    const stream = validateEnum(req.stream, 'stream', [TaskLogsRequest_Stream.STREAM_UNSPECIFIED, TaskLogsRequest_Stream.STDOUT, TaskLogsRequest_Stream.STDERR], TaskLogsRequest_Stream);
    const tailBytes = validateUint(req.tailBytes, 'tailBytes', LOG_TAIL_MAX_BYTES) || 64 * 1024;
    const t = this.state.lookupTask(req.taskId);
    if (t === undefined) throw new NotFound(`task ${req.taskId}`);
    // A task that is not on a machine now is asked for where it last ran (its newest event naming a machine): that
    // Borglet keeps the logs of tasks that left it for a while (borglet/logs.ts keepEndedLogs).
    let machine = t.machine;
    if (machine === undefined) {
      let last = '';
      this.state.events.forEachNewest((e) => {
        if (e.taskId !== t.id || e.machine === '') return true;
        last = e.machine;
        return false;
      });
      machine = this.state.machines.get(last);
      if (machine === undefined) throw new BorgError('failed_precondition', `task ${req.taskId} is not on a machine (${TaskState[t.state]})${last === '' ? ' and has not run on one' : `; it last ran on ${last}, no longer in the cell`}`);
    }
    const source = this.options.taskLogs;
    if (source === undefined) throw new BorgError('failed_precondition', 'this replica has no Borglet link to fetch task logs from');
    return source.tail({ taskId: t.id, machine: machine.name, machineAddress: machine.address, stream, tailBytes });
  }

  /** watch validates a Watch request and subscribes; the transport drains the returned watcher. */
  watchFrom(req: WatchRequest): Watcher {
    const from = validateUint(req.fromLogIndex, 'fromLogIndex', Number.MAX_SAFE_INTEGER);
    return this.watch.subscribe(from);
  }
}
