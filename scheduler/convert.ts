// The one place where wire types (proto Machine, Task, JobSpec) become the scheduler's compact types, and plan
// entries become wire Assignments. Strings are interned in the snapshot's interners; task and machine names get
// dense numbers from an IdTable the caller keeps for the life of its snapshot.
import { InvalidArgument } from '../model/errors';
import { formatTaskId } from '../model/ids';
import { validateResources, type Resources } from '../model/resources';
import { validatePriority } from '../model/priority';
import { Constraint_Op, MachineState, type Assignment as WireAssignment, type Constraint, type JobSpec, type Machine, type PendingVerdict, type Task, type TaskSpec } from '../proto/index';
import { Interner } from './interner';
import type { CellSnapshot } from './snapshot';
import {
  MACHINE_DOWN,
  MACHINE_DRAINING,
  MACHINE_UP,
  OP_EQ,
  OP_EXISTS,
  OP_IN,
  OP_NE,
  OP_NOT_EXISTS,
  type Assignment,
  type ConstraintOp,
  type MachineStateCode,
  type SchedConstraint,
  type SchedMachine,
  type SchedTask,
  type SpreadLimits,
  type Verdict,
} from './types';

/** IdTable gives task and machine names dense numeric ids (and back), for the snapshot's lifetime. */
export class IdTable {
  private readonly names = new Interner();
  id(name: string): number {
    return this.names.id(name);
  }
  lookup(name: string): number | undefined {
    const id = this.names.lookup(name);
    return id === 0 ? undefined : id;
  }
  name(id: number): string {
    return this.names.name(id);
  }
}

export function machineStateFromProto(s: MachineState, field = 'machine.state'): MachineStateCode {
  switch (s) {
    case MachineState.UP:
      return MACHINE_UP;
    case MachineState.DRAINING:
      return MACHINE_DRAINING;
    case MachineState.DOWN:
      return MACHINE_DOWN;
    default:
      throw new InvalidArgument(field, `unknown machine state ${String(s)}`);
  }
}

/** machineFromProto converts a wire Machine; attributes, rack and power domain are interned in `snap`. */
export function machineFromProto(m: Machine, snap: CellSnapshot, machines: IdTable): SchedMachine {
  if (!m.name) throw new InvalidArgument('machine.name', 'is required');
  const capacity = validateResources(m.capacity, `machine ${m.name}.capacity`);
  const attributes = Object.entries(m.attributes)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => [snap.attrKeys.id(k), snap.attrValues.id(v)] as const);
  return {
    id: machines.id(m.name),
    capacity,
    attributes,
    rack: snap.racks.id(m.rack || 'rack-0'),
    powerDomain: snap.powerDomains.id(m.powerDomain || 'power-0'),
    state: machineStateFromProto(m.state, `machine ${m.name}.state`),
  };
}

function opFromProto(op: Constraint_Op, field: string): ConstraintOp {
  switch (op) {
    case Constraint_Op.EQ:
      return OP_EQ;
    case Constraint_Op.NE:
      return OP_NE;
    case Constraint_Op.IN:
      return OP_IN;
    case Constraint_Op.EXISTS:
      return OP_EXISTS;
    case Constraint_Op.NOT_EXISTS:
      return OP_NOT_EXISTS;
    default:
      throw new InvalidArgument(field, `unknown constraint operator ${String(op)}`);
  }
}

export function constraintsFromProto(cs: readonly Constraint[], snap: CellSnapshot, field: string): SchedConstraint[] {
  return cs.map((c, i) => {
    if (!c.key) throw new InvalidArgument(`${field}[${i}].key`, 'is required');
    return { key: snap.attrKeys.id(c.key), op: opFromProto(c.op, `${field}[${i}].op`), values: c.values.map((v) => snap.attrValues.id(v)) };
  });
}

function spreadFromSpec(spec: JobSpec): SpreadLimits {
  const s = spec.spread;
  return { maxPerMachine: s?.maxPerMachine ?? 0, maxPerRack: s?.maxPerRack ?? 0, maxPerPowerDomain: s?.maxPerPowerDomain ?? 0 };
}

function taskSpecFor(spec: JobSpec, index: number): TaskSpec | undefined {
  return spec.overrides.find((o) => o.index === index)?.spec ?? spec.task;
}

function compact(id: number, spec: JobSpec, index: number, priority: number, limit: Resources, snap: CellSnapshot, field: string): SchedTask {
  const ts = taskSpecFor(spec, index);
  return {
    id,
    job: snap.jobs.id(`${spec.user}/${spec.name}`),
    user: snap.users.id(spec.user),
    priority: validatePriority(priority, `${field}.priority`),
    limit,
    constraints: constraintsFromProto(ts?.constraints ?? [], snap, `${field}.constraints`),
    spread: spreadFromSpec(spec),
  };
}

/** tasksFromJobSpec expands a job into its tasks (overrides applied), ids `cell/user/job/index`. */
export function tasksFromJobSpec(spec: JobSpec, snap: CellSnapshot, tasks: IdTable): SchedTask[] {
  const out: SchedTask[] = [];
  for (let index = 0; index < spec.taskCount; index++) {
    const ts = taskSpecFor(spec, index);
    const field = `job ${spec.name}.task[${index}]`;
    const limit = validateResources(ts?.requirements, `${field}.requirements`);
    const id = tasks.id(formatTaskId({ cell: spec.cell, user: spec.user, job: spec.name, index }));
    out.push(compact(id, spec, index, spec.priority, limit, snap, field));
  }
  return out;
}

/** taskFromProto converts a wire Task (its limit and priority) with its job's spec (constraints, spread). */
export function taskFromProto(t: Task, spec: JobSpec, snap: CellSnapshot, tasks: IdTable): SchedTask {
  if (!t.id) throw new InvalidArgument('task.id', 'is required');
  const limit = validateResources(t.limit, `task ${t.id}.limit`);
  return compact(tasks.id(t.id), spec, t.index, t.priority, limit, snap, `task ${t.id}`);
}

/** reservationFromProto reads a running task's reservation (its limit when the Borglet has not estimated one). */
export function reservationFromProto(t: Task): Resources {
  return t.reservation ? validateResources(t.reservation, `task ${t.id}.reservation`) : validateResources(t.limit, `task ${t.id}.limit`);
}

/** assignmentToProto turns a plan entry into the wire Assignment the master commits. */
export function assignmentToProto(a: Assignment, tasks: IdTable, machines: IdTable, specVersion = 0): WireAssignment {
  return {
    taskId: tasks.name(a.taskId),
    machine: machines.name(a.machineId),
    machineGeneration: a.machineGeneration,
    victimTaskIds: a.victims.map((v) => tasks.name(v)),
    specVersion,
  };
}

export function verdictToProto(v: Verdict, tasks: IdTable): PendingVerdict {
  return { taskId: tasks.name(v.taskId), why: v.why };
}
