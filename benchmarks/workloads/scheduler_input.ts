// Loads a Workload into the scheduler's compact world: machines into a CellSnapshot, tasks as SchedTasks with
// dense ids, names interned in the snapshot. Shared by the scheduler benchmark and anything else that replays.
import { InvalidArgument } from '../../model/errors';
import { CellSnapshot, IdTable, MACHINE_UP, OP_EQ, OP_EXISTS, OP_IN, OP_NE, OP_NOT_EXISTS, type ConstraintOp, type SchedTask } from '../../scheduler/index';
import type { Workload, WorkloadConstraintOp, WorkloadTask } from './types';

function op(o: WorkloadConstraintOp): ConstraintOp {
  switch (o) {
    case '=':
      return OP_EQ;
    case '!=':
      return OP_NE;
    case 'in':
      return OP_IN;
    case 'exists':
      return OP_EXISTS;
    case '!exists':
      return OP_NOT_EXISTS;
  }
}

export interface LoadedWorkload {
  snap: CellSnapshot;
  machines: IdTable;
  tasks: IdTable;
  initial: SchedTask[];
  later: SchedTask[];
}

export function toSchedTask(t: WorkloadTask, snap: CellSnapshot, ids: IdTable): SchedTask {
  return {
    id: ids.id(`${t.user}/${t.job}/${t.index}`),
    job: snap.jobs.id(`${t.user}/${t.job}`),
    user: snap.users.id(t.user),
    priority: t.priority,
    limit: t.limit,
    constraints: t.constraints.map((c) => ({ key: snap.attrKeys.id(c.key), op: op(c.op), values: c.values.map((v) => snap.attrValues.id(v)) })),
    spread: t.spread,
  };
}

/** loadWorkload builds a snapshot holding the workload's machines (all UP, empty) and its tasks in compact form. */
export function loadWorkload(w: Workload): LoadedWorkload {
  const snap = new CellSnapshot();
  const machines = new IdTable();
  const tasks = new IdTable();
  for (const m of w.machines) {
    const id = machines.id(m.name);
    if (snap.hasMachine(id)) throw new InvalidArgument('machines', `duplicate machine ${m.name}`);
    snap.addMachine({
      id,
      capacity: m.capacity,
      attributes: Object.entries(m.attributes).map(([k, v]) => [snap.attrKeys.id(k), snap.attrValues.id(v)] as const),
      rack: snap.racks.id(m.rack),
      powerDomain: snap.powerDomains.id(m.powerDomain),
      state: MACHINE_UP,
    });
  }
  return { snap, machines, tasks, initial: w.initial.map((t) => toSchedTask(t, snap, tasks)), later: w.later.map((t) => toSchedTask(t, snap, tasks)) };
}
