// StatusSource is the narrow, read-only interface the status page and /metrics read a replica through. The pages
// know nothing of CellState, Paxos or the link shards; cell_source.ts implements this over a replica's state, and
// anything else (a Fauxmaster, a checkpoint viewer) can implement it too. Rows are plain data, ready to render.
import type { Resources } from '../../model/resources';

export type MachineStateName = 'UP' | 'DRAINING' | 'DOWN';
export type TaskStateName = 'PENDING' | 'RUNNING' | 'DEAD';
export type BandName = 'free' | 'batch' | 'mid' | 'prod' | 'monitoring';
export const BAND_NAMES: readonly BandName[] = ['free', 'batch', 'mid', 'prod', 'monitoring'];
export const TASK_STATE_NAMES: readonly TaskStateName[] = ['PENDING', 'RUNNING', 'DEAD'];
export const MACHINE_STATE_NAMES: readonly MachineStateName[] = ['UP', 'DRAINING', 'DOWN'];

/** ReplicaRow is one Borgmaster replica as this replica sees it. */
export interface ReplicaRow {
  id: number;
  address: string;
  leader: boolean;
  reachable: boolean;
  /** logIndex: the highest log index the replica knows chosen; appliedIndex: applied to its state. */
  logIndex: number;
  appliedIndex: number;
  /** lag: entries behind the leader's log. */
  lag: number;
  statusUrl: string;
}

/** ReplicaInfo is what the page header and the cell page say about who is serving and how current it is. */
export interface ReplicaInfo {
  cell: string;
  selfId: number;
  /** leaderId: undefined while no leader is known (election in progress). */
  leaderId: number | undefined;
  /** authoritative: this replica is the elected master holding its lease; its answers are current. */
  authoritative: boolean;
  appliedIndex: number;
  /** lagEntries: how far this replica's applied state trails the leader's log (0 on the leader). */
  lagEntries: number;
  replicas: ReplicaRow[];
}

export interface BandResources {
  band: BandName;
  tasks: number;
  limit: Resources;
  reservation: Resources;
  /** usage sums the latest samples known for the band's running tasks (soft state; zero when none). */
  usage: Resources;
  /** sampledTasks: how many of the band's running tasks that sum covers. */
  sampledTasks: number;
}

export interface PassLatency {
  count: number;
  lastSeconds: number | undefined;
  p50Seconds: number | undefined;
  p99Seconds: number | undefined;
  maxSeconds: number | undefined;
}

export interface CellSummary {
  cell: string;
  timeMs: number;
  appliedIndex: number;
  machines: Record<MachineStateName, number>;
  /** capacity of machines that are not DOWN. */
  capacity: Resources;
  /** sampledMachines: machines not DOWN with a usage sample (from any replica's link shard). */
  sampledMachines: number;
  bands: BandResources[];
  pendingByBand: Record<BandName, number>;
  tasks: Record<TaskStateName, number>;
  /** unhealthy: running tasks their Borglets do not report healthy. */
  unhealthy: number;
  jobs: number;
  passes: PassLatency;
}

export interface MachineRow {
  name: string;
  address: string;
  state: MachineStateName;
  rack: string;
  powerDomain: string;
  capacity: Resources;
  allocatedLimit: Resources;
  allocatedReservation: Resources;
  usage: Resources | undefined;
  tasks: number;
  generation: number;
  attributes: Record<string, string>;
}

/** HeatMapData is the compact form of every machine for the heat map: parallel arrays, fractions in 0..255. */
export interface HeatMapData {
  appliedIndex: number;
  names: string[];
  /** states: 0 UP, 1 DRAINING, 2 DOWN. */
  states: number[];
  /** per machine, the largest of cpu and ram: limit, reservation and usage as a fraction of capacity * 255. */
  limit: number[];
  reservation: number[];
  usage: number[];
  tasks: number[];
}

export interface JobRow {
  id: string;
  user: string;
  name: string;
  priority: number;
  band: BandName;
  taskCount: number;
  running: number;
  /** healthy: running tasks their Borglets report healthy. */
  healthy: number;
  /** atVersion: tasks at the job's spec version; rolloutDown: tasks the rolling update restarted, not yet healthy. */
  atVersion: number;
  rolloutDown: number;
  pending: number;
  dead: number;
  specVersion: number;
  createdMs: number;
}

export interface TaskRow {
  id: string;
  user: string;
  job: string;
  index: number;
  priority: number;
  band: BandName;
  state: TaskStateName;
  lastEvent: string;
  machine: string;
  limit: Resources;
  reservation: Resources | undefined;
  usage: Resources | undefined;
  restarts: number;
  /** healthy: running and passing its health check (if any), as its Borglet reports; healthTimeMs: since when. */
  healthy: boolean;
  healthTimeMs: number;
  specVersion: number;
  stateTimeMs: number;
  startTimeMs: number;
  bnsName: string;
  ports: number[];
  message: string;
}

export interface TaskSpecView {
  command: string;
  args: string[];
  env: Record<string, string>;
  workingDir: string;
  constraints: string[];
  restartPolicy: string;
  /** healthCheck: what the Borglet probes, with the defaults filled in; '' for none. */
  healthCheck: string;
}

export interface JobDetail {
  job: JobRow;
  /** rolloutDownTasks: indexes of the tasks the rolling update restarted that it waits on to be healthy. */
  rolloutDownTasks: number[];
  annotations: Record<string, string>;
  spec: TaskSpecView;
  maxTasksDown: number;
}

export interface EventRow {
  timeMs: number;
  logIndex: number;
  taskId: string;
  type: string;
  machine: string;
  user: string;
  job: string;
  priority: number;
  message: string;
}

export interface TaskDetail {
  task: TaskRow;
  spec: TaskSpecView;
  /** whyPending: the verdict for a pending task, or undefined when it is not pending. */
  whyPending: string | undefined;
  notBeforeMs: number;
  exitCode: number;
  events: EventRow[];
}

export interface MachineDetail {
  machine: MachineRow;
  tasks: TaskRow[];
  events: EventRow[];
}

export type SortDir = 'asc' | 'desc';
export interface PageRequest {
  offset: number;
  limit: number;
}
export interface Page<T> {
  rows: T[];
  total: number;
  offset: number;
  limit: number;
}

export const TASK_HEALTH_NAMES = ['healthy', 'unhealthy'] as const;
export type TaskHealthName = (typeof TASK_HEALTH_NAMES)[number];

export const TASK_SORT_KEYS = ['id', 'state', 'priority', 'machine', 'restarts', 'cpu', 'ram', 'time'] as const;
export type TaskSortKey = (typeof TASK_SORT_KEYS)[number];
export interface TaskQuery extends PageRequest {
  user?: string;
  job?: string;
  machine?: string;
  state?: TaskStateName;
  /** health: running tasks their Borglets report healthy, or running tasks they do not. */
  health?: TaskHealthName;
  band?: BandName;
  /** q: substring of the task id. */
  q?: string;
  sort: TaskSortKey;
  dir: SortDir;
}

export const JOB_SORT_KEYS = ['id', 'user', 'priority', 'tasks', 'running', 'pending', 'dead', 'created'] as const;
export type JobSortKey = (typeof JOB_SORT_KEYS)[number];
export interface JobQuery extends PageRequest {
  user?: string;
  band?: BandName;
  q?: string;
  sort: JobSortKey;
  dir: SortDir;
}

export interface EventQuery extends PageRequest {
  user?: string;
  job?: string;
  machine?: string;
  taskId?: string;
  type?: string;
}

export interface LogTail {
  text: string;
  truncated: boolean;
}

/** ChangeNotice says what one or more applied log entries touched; `all` when there were too many to name. */
export interface ChangeNotice {
  logIndex: number;
  all: boolean;
  jobs: string[];
  tasks: string[];
  machines: string[];
  events: number;
}

export interface StatusSource {
  readonly cell: string;
  replica(): ReplicaInfo;
  /** cellTimeMs: the cell's leader-stamped time, for ages ("in state 3m") that agree on every replica. */
  cellTimeMs(): number;
  summary(): CellSummary;
  machines(): MachineRow[];
  heatMap(): HeatMapData;
  machine(name: string): MachineDetail | undefined;
  jobs(q: JobQuery): Page<JobRow>;
  job(user: string, name: string): JobDetail | undefined;
  tasks(q: TaskQuery): Page<TaskRow>;
  task(user: string, job: string, index: number): TaskDetail | undefined;
  /** events newest first. */
  events(q: EventQuery): Page<EventRow>;
  /** logTail reads the end of a task's log (from its Borglet); rejects when it cannot. */
  logTail(taskId: string, stream: 'stdout' | 'stderr', tailBytes: number): Promise<LogTail>;
  /** subscribe calls listener after state changes; returns the unsubscribe function. */
  subscribe(listener: (n: ChangeNotice) => void): () => void;
}
