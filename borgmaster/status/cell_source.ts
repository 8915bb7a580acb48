// CellStateSource implements StatusSource over one replica's CellState: rows are read straight from the state's
// records on each request (no copy of the cell is kept), filtered, sorted and paged on the server so 100,000 tasks
// stay fast. Soft state the state machine does not hold comes in through options: the scheduler's why-pending
// verdicts, usage samples, log tails (the Borglet's TaskLogs RPC), pass latencies (BorgMetrics), replica info.
import { bandName, bandOf } from '../../model/priority';
import { bnsName } from '../../model/ids';
import type { Resources } from '../../model/resources';
import { Constraint_Op, EventType, MachineState, RestartPolicy_Kind, TaskState, type HealthCheck, type RestartPolicy, type TaskEvent, type TaskSpec } from '../../proto/index';
import { STATUS_RECENT_EVENTS } from '../../cells/limits';
import { healthTiming, probeText } from '../../model/health';
import { formatDurationMs } from '../../model/units';
import { restartTiming } from '../../model/restart';
import { checkPlacement, limitOf, reservationOf, type CellState, type Changes, type JobRec, type MachineRec, type TaskRec } from '../state/index';
import type { BorgMetrics } from './metrics';
import type { UsageBook } from './usage_book';
import {
  BAND_NAMES,
  type BandName,
  type BandResources,
  type CellSummary,
  type ChangeNotice,
  type EventQuery,
  type EventRow,
  type HeatMapData,
  type JobDetail,
  type JobQuery,
  type JobRow,
  type LogTail,
  type MachineDetail,
  type MachineRow,
  type MachineStateName,
  type Page,
  type ReplicaInfo,
  type StatusSource,
  type TaskDetail,
  type TaskQuery,
  type TaskRow,
  type TaskSpecView,
  type TaskStateName,
} from './source';
import { MAX_TASKS_PER_CELL, STATUS_LIVE_IDS_MAX } from '../../cells/limits';
import { assert } from '../../model/assert';

export type LogReader = (taskId: string, machine: string, stream: 'stdout' | 'stderr', tailBytes: number) => Promise<LogTail>;

export interface CellStateSourceOptions {
  /** state returns the replica's current state (it may be replaced when a checkpoint is restored). */
  state: () => CellState;
  replica: () => ReplicaInfo;
  /** whyPending: the scheduler's last verdict for a task (WhyPendingStore.get on the leader). */
  whyPending?: (taskId: string) => string | undefined;
  usage?: UsageBook;
  logs?: LogReader;
  metrics?: BorgMetrics;
}

const ZERO: Readonly<Resources> = Object.freeze({ cpuMillis: 0, ramBytes: 0, diskBytes: 0, ports: 0 });

function zero(): Resources {
  return { cpuMillis: 0, ramBytes: 0, diskBytes: 0, ports: 0 };
}

function addInto(a: Resources, b: Resources): void {
  a.cpuMillis += b.cpuMillis;
  a.ramBytes += b.ramBytes;
  a.diskBytes += b.diskBytes;
  a.ports += b.ports;
}

export function machineStateName(s: MachineState): MachineStateName {
  // An unspecified state is registered as UP by validation; treat anything unknown as DOWN (never as capacity).
  if (s === MachineState.UP) return 'UP';
  if (s === MachineState.DRAINING) return 'DRAINING';
  return 'DOWN';
}

export function taskStateName(s: TaskState): TaskStateName {
  if (s === TaskState.RUNNING) return 'RUNNING';
  if (s === TaskState.DEAD) return 'DEAD';
  return 'PENDING';
}

function band(priority: number): BandName {
  return bandName(bandOf(priority)) as BandName;
}

function constraintText(c: { key: string; op: Constraint_Op; values: string[] }): string {
  const op = Constraint_Op[c.op] ?? String(c.op);
  return c.values.length === 0 ? `${c.key} ${op}` : `${c.key} ${op} ${c.values.join(',')}`;
}

function specView(s: TaskSpec): TaskSpecView {
  return {
    command: s.command,
    args: [...s.args],
    env: { ...s.env },
    workingDir: s.workingDir,
    constraints: s.constraints.map(constraintText),
    restartPolicy: restartPolicyText(s.restartPolicy),
    healthCheck: healthCheckText(s.healthCheck),
  };
}

/** healthCheckText: what the Borglet probes and when it gives up, as it reads the spec (borglet/spec.ts). */
function healthCheckText(h: HealthCheck | undefined): string {
  if (h === undefined || h.httpPath === '') return '';
  const t = healthTiming(h);
  return `${probeText(h)} every ${formatDurationMs(t.intervalMs)} (timeout ${formatDurationMs(t.timeoutMs)}); restarted after ${t.failuresBeforeRestart} failures in a row`;
}

/** restartPolicyText: what a task's restart policy does, the defaults of fields left at 0 filled in. */
function restartPolicyText(rp: RestartPolicy | undefined): string {
  const kind = rp === undefined || rp.kind === RestartPolicy_Kind.KIND_UNSPECIFIED ? RestartPolicy_Kind.ON_FAILURE : rp.kind;
  if (kind === RestartPolicy_Kind.NEVER) return 'NEVER';
  const t = restartTiming(rp);
  const limit = rp !== undefined && rp.maxRestarts > 0 ? `at most ${rp.maxRestarts} restarts in a row` : 'no restart limit';
  const name = RestartPolicy_Kind[kind] ?? String(kind);
  return `${name}, ${limit}, back-off ${formatDurationMs(t.backoffInitialMs)} doubling to ${formatDurationMs(t.backoffMaxMs)}, a ${formatDurationMs(t.resetAfterMs)} run forgives earlier failures`;
}

function eventRow(e: TaskEvent): EventRow {
  return {
    timeMs: e.timeMs,
    logIndex: e.logIndex,
    taskId: e.taskId,
    type: EventType[e.type] ?? String(e.type),
    machine: e.machine,
    user: e.user,
    job: e.job,
    priority: e.priority,
    message: e.message,
  };
}

/** cmp orders numbers and strings ascending without locale rules (fast, deterministic). */
function cmp(a: number | string, b: number | string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** fraction255 is used/capacity scaled to 0..255 (capped), for the heat map's compact arrays. */
function fraction255(used: number, capacity: number): number {
  if (capacity <= 0) return used > 0 ? 255 : 0;
  return Math.min(255, Math.round((used / capacity) * 255));
}

/** RANK_LIMIT (2^21): sortByKeys packs a rank and a position, each below it, into one exact float. */
const RANK_LIMIT = 2_097_152;
assert(MAX_TASKS_PER_CELL < RANK_LIMIT, 'sortByKeys packs a task position into 21 bits');

/** WHY_CACHE_ENTRIES bounds the replica's own why-pending checks remembered for the current log index. */
const WHY_CACHE_ENTRIES = 1024;

export class CellStateSource implements StatusSource {
  private readonly listeners = new Set<(n: ChangeNotice) => void>();
  /**
   * The summary walks every task; it is the same for every viewer until the state or the usage book changes, so
   * it is kept for (state, applied index, usage version). Pass latencies are read fresh each time.
   */
  private summaryCache: { state: CellState; index: number; usageVersion: number; summary: CellSummary } | undefined;
  private heatCache: { state: CellState; index: number; usageVersion: number; data: HeatMapData } | undefined;
  private whyCache: { state: CellState; index: number; verdicts: Map<string, string> } | undefined;

  constructor(private readonly options: CellStateSourceOptions) {
    // Usage is summed per band as samples arrive; a sample of a task that is not running counts in no band.
    options.usage?.setClassifier((taskId) => {
      const t = options.state().getTaskIfValid(taskId);
      return t !== undefined && t.state === TaskState.RUNNING ? band(t.job.current.spec.priority) : undefined;
    });
  }

  get cell(): string {
    return this.options.state().cell;
  }

  replica(): ReplicaInfo {
    return this.options.replica();
  }

  cellTimeMs(): number {
    return this.options.state().timeMs;
  }

  // ------------------------------------------------------------------------------------------------ rows

  private machineRow(m: MachineRec): MachineRow {
    return {
      name: m.name,
      address: m.address,
      state: machineStateName(m.state),
      rack: m.rack,
      powerDomain: m.powerDomain,
      capacity: m.capacity,
      allocatedLimit: m.allocatedLimit,
      allocatedReservation: m.allocatedReservation,
      usage: this.options.usage?.machine(m.name),
      tasks: m.tasks.size,
      generation: m.generation,
      attributes: m.attributes,
    };
  }

  private jobRow(j: JobRec): JobRow {
    const spec = j.current.spec;
    return {
      id: j.id,
      user: j.user,
      name: j.name,
      priority: spec.priority,
      band: band(spec.priority),
      taskCount: j.tasks.length,
      running: j.running,
      healthy: j.healthy,
      atVersion: j.current.refs,
      rolloutDown: j.downCount,
      pending: j.pending,
      dead: j.dead,
      specVersion: j.current.version,
      createdMs: j.createdMs,
    };
  }

  private taskRow(t: TaskRec, cell: string): TaskRow {
    const job = t.job;
    const priority = job.current.spec.priority;
    return {
      id: t.id,
      user: job.user,
      job: job.name,
      index: t.index,
      priority,
      band: band(priority),
      state: taskStateName(t.state),
      lastEvent: EventType[t.lastEvent] ?? String(t.lastEvent),
      machine: t.machine?.name ?? '',
      limit: limitOf(t),
      reservation: t.machine !== undefined ? reservationOf(t) : undefined,
      usage: t.state === TaskState.RUNNING ? this.options.usage?.task(t.id) : undefined,
      restarts: t.restarts,
      healthy: t.healthy,
      healthTimeMs: t.healthTimeMs,
      specVersion: t.specVersion,
      stateTimeMs: t.stateTimeMs,
      startTimeMs: t.startTimeMs,
      bnsName: bnsName({ cell, user: job.user, job: job.name, index: t.index }),
      ports: [...t.ports],
      message: t.message,
    };
  }

  // ------------------------------------------------------------------------------------------------ cell

  summary(): CellSummary {
    const state = this.options.state();
    const usageVersion = this.options.usage?.version ?? 0;
    const c = this.summaryCache;
    const passes = this.options.metrics?.passLatency() ?? { count: 0, lastSeconds: undefined, p50Seconds: undefined, p99Seconds: undefined, maxSeconds: undefined };
    if (c !== undefined && c.state === state && c.index === state.appliedIndex && c.usageVersion === usageVersion) return { ...c.summary, passes };
    const summary = this.computeSummary(state, passes);
    this.summaryCache = { state, index: state.appliedIndex, usageVersion, summary };
    return summary;
  }

  private computeSummary(state: CellState, passes: CellSummary['passes']): CellSummary {
    const machines: Record<MachineStateName, number> = { UP: 0, DRAINING: 0, DOWN: 0 };
    for (const m of state.machines.values()) machines[machineStateName(m.state)]++;
    const bands = new Map<BandName, BandResources>(BAND_NAMES.map((b) => [b, { band: b, tasks: 0, limit: zero(), reservation: zero(), usage: zero(), sampledTasks: 0 }]));
    const pendingByBand = Object.fromEntries(BAND_NAMES.map((b) => [b, 0])) as Record<BandName, number>;
    const tasks: Record<TaskStateName, number> = { PENDING: 0, RUNNING: 0, DEAD: 0 };
    let unhealthy = 0;
    for (const j of state.jobs.values()) {
      const b = band(j.current.spec.priority);
      tasks.PENDING += j.pending;
      tasks.RUNNING += j.running;
      tasks.DEAD += j.dead;
      unhealthy += j.running - j.healthy;
      pendingByBand[b] += j.pending;
      if (j.running === 0) continue;
      const acc = bands.get(b);
      if (acc === undefined) continue;
      for (const t of j.tasks) {
        if (t.state !== TaskState.RUNNING) continue;
        acc.tasks++;
        addInto(acc.limit, limitOf(t));
        addInto(acc.reservation, reservationOf(t));
      }
    }
    const usage = this.options.usage;
    let sampledMachines = 0;
    if (usage !== undefined) {
      for (const b of bands.values()) {
        b.usage = usage.groupUsage(b.band);
        b.sampledTasks = usage.groupTasks(b.band);
      }
      for (const m of state.machines.values()) if (m.state !== MachineState.DOWN && usage.machine(m.name) !== undefined) sampledMachines++;
    }
    return {
      cell: state.cell,
      timeMs: state.timeMs,
      appliedIndex: state.appliedIndex,
      machines,
      capacity: { ...state.cellCapacity() },
      sampledMachines,
      bands: [...bands.values()],
      pendingByBand,
      tasks,
      unhealthy,
      jobs: state.jobs.size,
      passes,
    };
  }

  // ------------------------------------------------------------------------------------------------ machines

  machines(): MachineRow[] {
    return [...this.options.state().machines.values()].map((m) => this.machineRow(m));
  }

  heatMap(): HeatMapData {
    const state = this.options.state();
    const usageVersion = this.options.usage?.version ?? 0;
    const c = this.heatCache;
    if (c !== undefined && c.state === state && c.index === state.appliedIndex && c.usageVersion === usageVersion) return c.data;
    const data = this.computeHeatMap(state);
    this.heatCache = { state, index: state.appliedIndex, usageVersion, data };
    return data;
  }

  private computeHeatMap(state: CellState): HeatMapData {
    const n = state.machines.size;
    const out: HeatMapData = { appliedIndex: state.appliedIndex, names: new Array<string>(n), states: new Array<number>(n), limit: new Array<number>(n), reservation: new Array<number>(n), usage: new Array<number>(n), tasks: new Array<number>(n) };
    let i = 0;
    for (const m of state.machines.values()) {
      const c = m.capacity;
      const u = this.options.usage?.machine(m.name) ?? ZERO;
      out.names[i] = m.name;
      out.states[i] = m.state === MachineState.UP ? 0 : m.state === MachineState.DRAINING ? 1 : 2;
      // The dominant dimension decides: a machine full of RAM is full, however idle its CPUs.
      out.limit[i] = Math.max(fraction255(m.allocatedLimit.cpuMillis, c.cpuMillis), fraction255(m.allocatedLimit.ramBytes, c.ramBytes));
      out.reservation[i] = Math.max(fraction255(m.allocatedReservation.cpuMillis, c.cpuMillis), fraction255(m.allocatedReservation.ramBytes, c.ramBytes));
      out.usage[i] = Math.max(fraction255(u.cpuMillis, c.cpuMillis), fraction255(u.ramBytes, c.ramBytes));
      out.tasks[i] = m.tasks.size;
      i++;
    }
    return out;
  }

  machine(name: string): MachineDetail | undefined {
    const state = this.options.state();
    const m = state.machines.get(name);
    if (m === undefined) return undefined;
    const tasks = [...m.tasks].map((t) => this.taskRow(t, state.cell));
    tasks.sort((a, b) => b.priority - a.priority || cmp(a.id, b.id));
    const events = this.events({ machine: name, offset: 0, limit: STATUS_RECENT_EVENTS }).rows;
    return { machine: this.machineRow(m), tasks, events };
  }

  // ------------------------------------------------------------------------------------------------ jobs

  /** jobsById lists the jobs whose user matches, sorted by id (cheap: jobs, not tasks). */
  private jobsById(user: string | undefined): JobRec[] {
    const state = this.options.state();
    const out: JobRec[] = [];
    for (const j of state.jobs.values()) if (user === undefined || j.user === user) out.push(j);
    out.sort((a, b) => cmp(a.id, b.id));
    return out;
  }

  jobs(q: JobQuery): Page<JobRow> {
    let list = this.jobsById(q.user);
    if (q.band !== undefined) list = list.filter((j) => band(j.current.spec.priority) === q.band);
    if (q.q !== undefined && q.q !== '') {
      const needle = q.q;
      list = list.filter((j) => j.id.includes(needle));
    }
    const key = (j: JobRec): number | string => {
      switch (q.sort) {
        case 'id':
          return 0;
        case 'user':
          return j.user;
        case 'priority':
          return j.current.spec.priority;
        case 'tasks':
          return j.tasks.length;
        case 'running':
          return j.running;
        case 'pending':
          return j.pending;
        case 'dead':
          return j.dead;
        case 'created':
          return j.createdMs;
      }
    };
    const sign = q.dir === 'asc' ? 1 : -1;
    if (q.sort !== 'id') {
      const keyed = list.map((j, i) => ({ j, k: key(j), i }));
      keyed.sort((a, b) => sign * cmp(a.k, b.k) || a.i - b.i);
      list = keyed.map((x) => x.j);
    } else if (sign < 0) list.reverse();
    const rows = list.slice(q.offset, q.offset + q.limit).map((j) => this.jobRow(j));
    return { rows, total: list.length, offset: q.offset, limit: q.limit };
  }

  job(user: string, name: string): JobDetail | undefined {
    const j = this.options.state().getJob(user, name);
    if (j === undefined) return undefined;
    const spec = j.current.spec;
    return {
      job: this.jobRow(j),
      rolloutDownTasks: j.downCount === 0 ? [] : j.tasks.filter((t) => t.updateDown).map((t) => t.index),
      annotations: { ...spec.annotations },
      spec: specView(spec.task ?? (j.tasks[0]?.spec as TaskSpec)),
      maxTasksDown: Math.max(1, spec.updatePolicy?.maxTasksDown ?? 1),
    };
  }

  // ------------------------------------------------------------------------------------------------ tasks

  tasks(q: TaskQuery): Page<TaskRow> {
    const state = this.options.state();
    const matched: TaskRec[] = [];
    const wantState = q.state === undefined ? undefined : q.state === 'RUNNING' ? TaskState.RUNNING : q.state === 'DEAD' ? TaskState.DEAD : TaskState.PENDING;
    // Walking jobs in id order and tasks in index order gives id order for free; other keys sort that list stably.
    // One job named: look it up instead of sorting every job of the cell (the job page's case).
    const one = q.user !== undefined && q.job !== undefined ? state.getJob(q.user, q.job) : undefined;
    const jobs = q.user !== undefined && q.job !== undefined ? (one === undefined ? [] : [one]) : this.jobsById(q.user);
    for (const j of jobs) {
      if (q.job !== undefined && j.name !== q.job) continue;
      if (q.band !== undefined && band(j.current.spec.priority) !== q.band) continue;
      if (wantState === TaskState.PENDING && j.pending === 0) continue;
      if (wantState === TaskState.RUNNING && j.running === 0) continue;
      if (wantState === TaskState.DEAD && j.dead === 0) continue;
      if (q.machine !== undefined && j.running === 0) continue;
      if (q.health === 'healthy' ? j.healthy === 0 : q.health === 'unhealthy' && j.healthy === j.running) continue;
      for (const t of j.tasks) {
        if (wantState !== undefined && t.state !== wantState) continue;
        if (q.health !== undefined && (t.state !== TaskState.RUNNING || t.healthy !== (q.health === 'healthy'))) continue;
        if (q.machine !== undefined && t.machine?.name !== q.machine) continue;
        if (q.q !== undefined && q.q !== '' && !t.id.includes(q.q)) continue;
        matched.push(t);
      }
    }
    let ordered = matched;
    if (q.sort !== 'id') ordered = sortByKeys(matched, this.taskKeys(matched, q.sort, state), q.dir);
    else if (q.dir === 'desc') ordered.reverse();
    const rows = ordered.slice(q.offset, q.offset + q.limit).map((t) => this.taskRow(t, state.cell));
    return { rows, total: ordered.length, offset: q.offset, limit: q.limit };
  }

  /** taskKeys maps each task to a number for the sort key, so the sort compares numbers only. */
  private taskKeys(tasks: TaskRec[], key: Exclude<TaskQuery['sort'], 'id'>, state: CellState): Float64Array {
    const keys = new Float64Array(tasks.length);
    let machineRank: Map<MachineRec, number> | undefined;
    if (key === 'machine') {
      const names = [...state.machines.values()].sort((a, b) => cmp(a.name, b.name));
      machineRank = new Map(names.map((m, i) => [m, i]));
    }
    for (let i = 0; i < tasks.length; i++) {
      const t = tasks[i] as TaskRec;
      switch (key) {
        case 'state':
          keys[i] = t.state;
          break;
        case 'priority':
          keys[i] = t.job.current.spec.priority;
          break;
        case 'machine':
          keys[i] = t.machine === undefined ? 0 : (machineRank?.get(t.machine) ?? -1) + 1;
          break;
        case 'restarts':
          keys[i] = t.restarts;
          break;
        case 'cpu':
          keys[i] = limitOf(t).cpuMillis;
          break;
        case 'ram':
          keys[i] = limitOf(t).ramBytes;
          break;
        case 'time':
          keys[i] = t.stateTimeMs;
          break;
      }
    }
    return keys;
  }

  task(user: string, job: string, index: number): TaskDetail | undefined {
    const state = this.options.state();
    const j = state.getJob(user, job);
    const t = j?.tasks[index];
    if (t === undefined) return undefined;
    const events = this.events({ taskId: t.id, offset: 0, limit: STATUS_RECENT_EVENTS }).rows;
    return {
      task: this.taskRow(t, state.cell),
      spec: specView(t.spec),
      whyPending: t.state === TaskState.PENDING ? this.whyPending(t, state) : undefined,
      notBeforeMs: t.notBeforeMs,
      exitCode: t.exitCode,
      events,
    };
  }

  /**
   * whyPending prefers the scheduler's verdict (it knows constraints, spread and preemption). A replica without
   * one (a follower, or before the first pass) checks the task against every machine itself, counting the
   * reasons, so an SRE still learns why it waits.
   */
  private whyPending(t: TaskRec, state: CellState): string {
    if (t.notBeforeMs > state.timeMs) {
      return `in restart back-off for ${((t.notBeforeMs - state.timeMs) / 1000).toFixed(1)}s more (after ${t.restarts} restart(s)): ${t.message}`;
    }
    const verdict = this.options.whyPending?.(t.id);
    if (verdict !== undefined && verdict !== '') return verdict;
    let cache = this.whyCache;
    if (cache === undefined || cache.state !== state || cache.index !== state.appliedIndex) {
      cache = { state, index: state.appliedIndex, verdicts: new Map() };
      this.whyCache = cache;
    }
    const known = cache.verdicts.get(t.id);
    if (known !== undefined) return known;
    const own = this.ownCheck(t, state);
    if (cache.verdicts.size >= WHY_CACHE_ENTRIES) cache.verdicts.clear();
    cache.verdicts.set(t.id, own);
    return own;
  }

  /** ownCheck counts, over every machine, why the task does not fit (the reasons of checkPlacement). */
  private ownCheck(t: TaskRec, state: CellState): string {
    let fit = 0;
    const reasons = new Map<string, number>();
    for (const m of state.machines.values()) {
      const v = checkPlacement(t, m, 0, [], state.timeMs);
      if (v.kind === 'fits') fit++;
      else {
        const r = v.reason.replace(/ \(.*$/, '');
        reasons.set(r, (reasons.get(r) ?? 0) + 1);
      }
    }
    const parts = [...reasons].sort((a, b) => b[1] - a[1]).map(([r, n]) => `${n} ${r}`);
    const head = `no scheduler verdict on this replica yet; its own check (resources and machine state, no preemption): ${fit}/${state.machines.size} machines fit`;
    return parts.length === 0 ? head : `${head}: ${parts.join(', ')}`;
  }

  // ------------------------------------------------------------------------------------------------ events

  events(q: EventQuery): Page<EventRow> {
    const state = this.options.state();
    const want = q.offset + q.limit;
    // Newest first: keep the last `want` matches in a ring while walking oldest to newest, counting all.
    const ring: TaskEvent[] = new Array<TaskEvent>(Math.max(1, want));
    let total = 0;
    const type = q.type === undefined ? undefined : (EventType as unknown as Record<string, number>)[q.type];
    state.events.forEach((e) => {
      if (q.taskId !== undefined && e.taskId !== q.taskId) return;
      if (q.user !== undefined && e.user !== q.user) return;
      if (q.job !== undefined && e.job !== q.job) return;
      if (q.machine !== undefined && e.machine !== q.machine) return;
      if (type !== undefined && e.type !== type) return;
      ring[total % ring.length] = e;
      total++;
    });
    const rows: EventRow[] = [];
    const held = Math.min(total, ring.length);
    for (let k = q.offset; k < held && rows.length < q.limit; k++) {
      const e = ring[(total - 1 - k) % ring.length];
      if (e !== undefined) rows.push(eventRow(e));
    }
    return { rows, total, offset: q.offset, limit: q.limit };
  }

  // ------------------------------------------------------------------------------------------------ logs, live

  async logTail(taskId: string, stream: 'stdout' | 'stderr', tailBytes: number): Promise<LogTail> {
    const reader = this.options.logs;
    if (reader === undefined) throw new Error('this replica has no log reader wired (TaskLogs)');
    const t = this.options.state().getTaskIfValid(taskId);
    if (t === undefined) throw new Error(`task ${taskId} not found`);
    if (t.machine === undefined) throw new Error(`task ${taskId} is not running on a machine`);
    return reader(taskId, t.machine.name, stream, tailBytes);
  }

  subscribe(listener: (n: ChangeNotice) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** notify tells subscribers what changed (called by publish, the WatchHub follower, or a restore with all). */
  notify(n: ChangeNotice): void {
    for (const l of this.listeners) l(n);
  }

  /** publish is called after each applied log entry with its changes (the same call the WatchHub gets). */
  publish(logIndex: number, changes: readonly Changes[]): void {
    const jobs = new Set<string>();
    const tasks = new Set<string>();
    const machines = new Set<string>();
    let events = 0;
    for (const ch of changes) {
      for (const j of ch.jobs) jobs.add(j.id);
      for (const id of ch.deletedJobIds) jobs.add(id);
      for (const t of ch.tasks) tasks.add(t.id);
      for (const id of ch.deletedTaskIds) tasks.add(id);
      for (const m of ch.machines) machines.add(m.name);
      events += ch.events.length;
    }
    if (jobs.size + tasks.size + machines.size + events === 0) return;
    this.notify(changeNotice(logIndex, jobs, tasks, machines, events));
  }
}

/**
 * sortByKeys orders items by a numeric key, stably (ties keep their order), in either direction. Keys are
 * replaced by their rank among the distinct keys, and rank and position are packed into one float, so the sort
 * is the engine's native numeric sort of a Float64Array (no comparator calls): 100,000 tasks in a few ms.
 */
export function sortByKeys<T>(items: readonly T[], keys: Float64Array, dir: 'asc' | 'desc'): T[] {
  const n = items.length;
  // Small non-negative integer keys (state, priority, cpu millis, machine rank, restarts) are their own rank;
  // others (bytes, times) are ranked among the distinct keys first.
  let maxKey = 0;
  let small = true;
  for (let i = 0; i < n && small; i++) {
    const k = keys[i] as number;
    if (!(Number.isInteger(k) && k >= 0 && k < RANK_LIMIT)) small = false;
    else if (k > maxKey) maxKey = k;
  }
  const packed = new Float64Array(n);
  if (small) {
    for (let i = 0; i < n; i++) packed[i] = (dir === 'asc' ? (keys[i] as number) : maxKey - (keys[i] as number)) * RANK_LIMIT + i;
  } else {
    const distinct = Float64Array.from(new Set(keys)).sort();
    const rank = new Map<number, number>();
    for (let i = 0; i < distinct.length; i++) rank.set(distinct[i] as number, dir === 'asc' ? i : distinct.length - 1 - i);
    for (let i = 0; i < n; i++) packed[i] = (rank.get(keys[i] as number) as number) * RANK_LIMIT + i;
  }
  // rank < 2^21 and position < 2^21 (MAX_TASKS_PER_CELL is 10^6), so rank * 2^21 + position is exact.
  packed.sort();
  const out = new Array<T>(n);
  for (let i = 0; i < n; i++) out[i] = items[(packed[i] as number) % RANK_LIMIT] as T;
  return out;
}

/** changeNotice builds a notice, collapsing to `all` when it would name too many ids to be worth sending. */
export function changeNotice(logIndex: number, jobs: Set<string>, tasks: Set<string>, machines: Set<string>, events: number): ChangeNotice {
  const all = jobs.size > STATUS_LIVE_IDS_MAX || tasks.size > STATUS_LIVE_IDS_MAX || machines.size > STATUS_LIVE_IDS_MAX;
  return { logIndex, all, jobs: all ? [] : [...jobs], tasks: all ? [] : [...tasks], machines: all ? [] : [...machines], events };
}
