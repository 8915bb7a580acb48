// The in-memory records of the cell state: jobs, tasks, machines. They are owned by CellState and mutated only
// by apply(); everything outside reads them (or their proto views) and never writes. Tasks are compact (a
// reference to their job, machine and effective TaskSpec, numbers for the rest) to stay well under 2 KiB each.
import type { JobSpec, TaskSpec } from '../../proto/index';
import { EventType, MachineState, PriorityBand, TaskState } from '../../proto/index';
import type { Resources } from '../../model/resources';

/** SpecVersion is one version of a job's spec, kept while any task still runs it. */
export interface SpecVersion {
  version: number;
  spec: JobSpec;
  /** overrides by task index, for effectiveTaskSpec. */
  overrides: Map<number, TaskSpec>;
  /** refs counts the tasks at this version; an old version with no task is dropped. */
  refs: number;
}

export interface JobRec {
  /** id is `cell/user/job`. */
  id: string;
  user: string;
  name: string;
  current: SpecVersion;
  specs: Map<number, SpecVersion>;
  createdMs: number;
  /** tasks by index; length is the task count of the current spec. */
  tasks: TaskRec[];
  /** rolloutCursor: tasks below it were already visited by the rolling update to the current version. */
  rolloutCursor: number;
  /** downCount: tasks the current rollout took down that are not running again yet (<= max_tasks_down). */
  downCount: number;
  pending: number;
  running: number;
  /** healthy counts the running tasks with healthy set. */
  healthy: number;
  dead: number;
}

export interface TaskRec {
  job: JobRec;
  index: number;
  /** id is `cell/user/job/index`. */
  id: string;
  state: TaskState;
  lastEvent: EventType;
  machine: MachineRec | undefined;
  specVersion: number;
  /** spec is the effective TaskSpec of this task at specVersion (template or override), shared, never copied. */
  spec: TaskSpec;
  /** reservation is undefined while it equals the limit (the first 300 s, B15 §5.5). */
  reservation: Resources | undefined;
  ports: readonly number[];
  restarts: number;
  /** machineRestarts: the Borglet's count of its own restarts of the task on its machine, as far as counted in restarts. */
  machineRestarts: number;
  /** failures counts consecutive failed runs (under ALWAYS, every run that ended), for the back-off and max_restarts. */
  failures: number;
  startTimeMs: number;
  stateTimeMs: number;
  /** notBeforeMs: a task in restart back-off may not be scheduled before this time. */
  notBeforeMs: number;
  exitCode: number;
  message: string;
  /** updateDown: taken down by the job's rolling update and not running healthy again yet. */
  updateDown: boolean;
  /** healthy: the Borglet last reported this run running and passing its health check (if any); false from each placement and restart until then. */
  healthy: boolean;
  /** healthTimeMs: when healthy last changed, or the current run began. */
  healthTimeMs: number;
}

export interface MachineRec {
  name: string;
  address: string;
  capacity: Resources;
  attributes: Record<string, string>;
  rack: string;
  powerDomain: string;
  state: MachineState;
  /** generation is bumped on every change that matters to the scheduler (state, shape, tasks, charges). */
  generation: number;
  /** tasks running on the machine, in placement order. */
  tasks: Set<TaskRec>;
  allocatedLimit: Resources;
  allocatedReservation: Resources;
  /** prodLimit sums the limits of the prod tasks here: all a prod candidate is charged (prod never preempts prod). */
  prodLimit: Resources;
  usedPorts: Set<number>;
  /** portBase: the machine's task ports are [portBase, portBase + capacity.ports). */
  portBase: number;
}

export interface QuotaRec {
  user: string;
  band: PriorityBand;
  limit: Resources;
}

export const NO_PORTS: readonly number[] = Object.freeze([]);

/** limitOf is the task's limit: what its spec asks for. */
export function limitOf(t: TaskRec): Resources {
  const r = t.spec.requirements;
  if (r === undefined) throw new Error(`task ${t.id} has no requirements`); // validated at admission; a bug here
  return r;
}

/** reservationOf is the reservation the task is charged for non-prod fits. */
export function reservationOf(t: TaskRec): Resources {
  return t.reservation ?? limitOf(t);
}

export function priorityOf(t: TaskRec): number {
  return t.job.current.spec.priority;
}

/** effectiveTaskSpec is the TaskSpec of task `index` under spec version v. */
export function effectiveTaskSpec(v: SpecVersion, index: number): TaskSpec {
  const o = v.overrides.get(index);
  if (o !== undefined) return o;
  const t = v.spec.task;
  if (t === undefined) throw new Error(`job spec v${v.version} has no task template`);
  return t;
}

export function newSpecVersion(version: number, spec: JobSpec): SpecVersion {
  const overrides = new Map<number, TaskSpec>();
  for (const o of spec.overrides) if (o.spec !== undefined) overrides.set(o.index, o.spec);
  return { version, spec, overrides, refs: 0 };
}
