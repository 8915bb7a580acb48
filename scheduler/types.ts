// The scheduler's own compact vocabulary: tasks, machines and constraints as plain numbers (interned strings),
// so the hot loops touch no strings and no proto objects. convert.ts maps the wire types onto these.
import type { Resources } from '../model/resources';

/** MachineStateCode mirrors proto MachineState's numbers; EMPTY marks a free slot in the snapshot. */
export const MACHINE_EMPTY = 0;
export const MACHINE_UP = 1;
export const MACHINE_DRAINING = 2;
export const MACHINE_DOWN = 3;
export type MachineStateCode = typeof MACHINE_UP | typeof MACHINE_DRAINING | typeof MACHINE_DOWN;

/** ConstraintOp mirrors proto Constraint.Op's numbers. */
export const OP_EQ = 1;
export const OP_NE = 2;
export const OP_IN = 3;
export const OP_EXISTS = 4;
export const OP_NOT_EXISTS = 5;
export type ConstraintOp = typeof OP_EQ | typeof OP_NE | typeof OP_IN | typeof OP_EXISTS | typeof OP_NOT_EXISTS;

/** SchedConstraint is a hard constraint on a machine attribute; key and values are ids from the snapshot's attribute interner. */
export interface SchedConstraint {
  key: number;
  op: ConstraintOp;
  /** values: one id for EQ/NE, several for IN, none for EXISTS/NOT_EXISTS. */
  values: readonly number[];
}

/** SpreadLimits: at most this many tasks of the task's job per machine / rack / power domain; 0 = unlimited. */
export interface SpreadLimits {
  maxPerMachine: number;
  maxPerRack: number;
  maxPerPowerDomain: number;
}

export const NO_SPREAD: Readonly<SpreadLimits> = Object.freeze({ maxPerMachine: 0, maxPerRack: 0, maxPerPowerDomain: 0 });

/**
 * SchedTask is one task as the scheduler sees it. `id` is the caller's number for the task (unique in the cell);
 * `job` and `user` are interned ids. `limit` is what the task asked for; while pending its reservation is its limit.
 */
export interface SchedTask {
  id: number;
  job: number;
  user: number;
  priority: number;
  limit: Resources;
  constraints: readonly SchedConstraint[];
  spread: SpreadLimits;
}

/** SchedMachine is a machine as the scheduler sees it: capacity, interned attributes, failure domains, state. */
export interface SchedMachine {
  id: number;
  capacity: Resources;
  /** attributes: [keyId, valueId] pairs from the snapshot's attribute interner. */
  attributes: ReadonlyArray<readonly [number, number]>;
  rack: number;
  powerDomain: number;
  state: MachineStateCode;
}

/** Assignment places a task on a machine after evicting `victims` (task ids), which go back to pending. */
export interface Assignment {
  taskId: number;
  machineId: number;
  /** machineGeneration is the machine's generation after this assignment was applied to the snapshot. */
  machineGeneration: number;
  victims: number[];
}

/**
 * Verdict says why a task stayed pending, e.g. `0/12477 machines feasible: 9120 insufficient ram, ...`. The
 * scheduler hands out the same object in later plans while the text is unchanged: treat it as read-only.
 */
export interface Verdict {
  readonly taskId: number;
  readonly why: string;
}

export interface PassStats {
  /** decisions: tasks placed plus tasks left pending with a verdict. */
  decisions: number;
  placed: number;
  pending: number;
  preemptions: number;
  /** evaluations: full (class, machine) feasibility-and-score computations. */
  evaluations: number;
  /** cacheHits: candidate rechecks answered from the score cache. */
  cacheHits: number;
  /** inherited: classes that started from a dominating class's complete walk instead of walking the cell. */
  inherited: number;
  /** indexedViews: complete views built from the room index (only the machines that could fit) instead of a walk. */
  indexedViews: number;
  /** sampledViews: classes that took `limit` machines from a random sample of the room index's superset. */
  sampledViews: number;
  /** rankedMachines: machines ranked by fit to draw those samples (BEST_SCAN_PER_TASK per task, at most BEST_SCAN_MAX each). */
  rankedMachines: number;
  /** supersetRechecks: exhausted classes that rechecked the room index's superset filtered by "freed since". */
  supersetRechecks: number;
  classes: number;
  /** parkedTasks: pending tasks whose verdict is their parked class's, given in the class's block (Plan.parked). */
  parkedTasks: number;
  /** wokenClasses: parked classes whose recheck found room (or whose view went stale); their tasks were decided again. */
  wokenClasses: number;
  passMs: number;
}

/**
 * ParkedVerdicts is one verdict for many tasks: the pending tasks of one class that found no machine (scheduler.ts,
 * parking). The scheduler hands out the same object in later plans while neither the text nor the tasks changed,
 * so a consumer can skip a block it has already passed on: treat it as read-only.
 */
export interface ParkedVerdicts {
  readonly why: string;
  readonly taskIds: readonly number[];
}

/**
 * Plan is the outcome of one pass: what to commit, and why the rest waits. Every task left pending has exactly one
 * verdict, in `verdicts` or in one of the `parked` blocks (planVerdicts lists them all one by one).
 */
export interface Plan {
  assignments: Assignment[];
  verdicts: Verdict[];
  parked: ParkedVerdicts[];
  stats: PassStats;
}

/** planVerdicts lists every verdict of a plan, the parked blocks' one by one (tests, simulation, small cells). */
export function planVerdicts(plan: Plan): Verdict[] {
  const out = plan.verdicts.slice();
  for (const b of plan.parked) for (const taskId of b.taskIds) out.push({ taskId, why: b.why });
  return out;
}
