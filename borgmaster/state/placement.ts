// Placement checks: does a pending task still fit a machine, given the victims it names? Used by apply() for
// every SCHEDULE (authoritative: the state a command is applied to) and by borgmaster/plan before proposing
// (early rejection). A prod task is charged the limits of the tasks it cannot preempt; a non-prod task is charged
// the reservations of the tasks already there, so non-prod runs in reclaimed resources and prod never does
// (B15 §5.5). Ports are never overcommitted; hard constraints are checked against the machine's attributes. Reasons are constants so callers can count them.
import { canPreempt, isProd } from '../../model/priority';
import { RESOURCE_DIMENSIONS, type Resources } from '../../model/resources';
import { Constraint_Op, MachineState, TaskState, type Constraint } from '../../proto/index';
import { unreachable } from '../../model/assert';
import { MAX_TASKS_PER_MACHINE } from '../../cells/limits';
import { limitOf, priorityOf, reservationOf, type MachineRec, type TaskRec } from './records';

export const REASON_TASK_NOT_PENDING = 'task is not pending';
export const REASON_SPEC_VERSION = 'spec version changed';
export const REASON_BACKOFF = 'task is in restart back-off';
export const REASON_MACHINE_UNKNOWN = 'machine not found';
export const REASON_MACHINE_NOT_UP = 'machine is not UP';
export const REASON_VICTIM_GONE = 'victim is no longer running on the machine';
export const REASON_VICTIM_NOT_PREEMPTIBLE = 'victim cannot be preempted';
export const REASON_VICTIM_SELF = 'a task cannot preempt itself';
export const REASON_TOO_MANY_TASKS = 'machine has too many tasks';
export const REASON_INSUFFICIENT = 'insufficient';
export const REASON_PORTS = 'insufficient ports';
export const REASON_CONSTRAINT = 'constraint';

/**
 * unmetConstraint returns the first hard constraint of the task that the machine's attributes break, rendered
 * as the scheduler renders it (`constraint arch=arm64`), or undefined. A machine re-registered with other
 * attributes since the scheduler looked is caught here.
 */
export function unmetConstraint(constraints: readonly Constraint[], attributes: Readonly<Record<string, string>>): string | undefined {
  for (const c of constraints) {
    const v = attributes[c.key];
    const first = c.values[0] ?? '';
    switch (c.op) {
      case Constraint_Op.EQ:
        if (v !== first) return `${REASON_CONSTRAINT} ${c.key}=${first}`;
        break;
      case Constraint_Op.NE:
        if (v === first) return `${REASON_CONSTRAINT} ${c.key}!=${first}`;
        break;
      case Constraint_Op.IN:
        if (v === undefined || !c.values.includes(v)) return `${REASON_CONSTRAINT} ${c.key} in (${c.values.join(',')})`;
        break;
      case Constraint_Op.EXISTS:
        if (v === undefined) return `${REASON_CONSTRAINT} ${c.key} exists`;
        break;
      case Constraint_Op.NOT_EXISTS:
        if (v !== undefined) return `${REASON_CONSTRAINT} ${c.key} !exists`;
        break;
      case Constraint_Op.OP_UNSPECIFIED:
        return `${REASON_CONSTRAINT} ${c.key} has no operator`;
      default:
        return unreachable(c.op, 'constraint op');
    }
  }
  return undefined;
}

export type FitVerdict = { kind: 'fits' } | { kind: 'rejected'; reason: string };

const DIM_NAMES = { cpuMillis: 'cpu', ramBytes: 'ram', diskBytes: 'disk', ports: 'ports' } as const;

/**
 * checkPlacement re-checks one assignment against the current records: the task is pending at the planned spec
 * version and out of back-off, the machine is UP, every victim still runs there and may be preempted, and after
 * evicting the victims the task fits.
 */
export function checkPlacement(
  task: TaskRec,
  machine: MachineRec | undefined,
  plannedSpecVersion: number,
  victims: readonly (TaskRec | undefined)[],
  nowMs: number,
): FitVerdict {
  if (task.state !== TaskState.PENDING) return { kind: 'rejected', reason: `${REASON_TASK_NOT_PENDING} (${TaskState[task.state]})` };
  if (plannedSpecVersion !== 0 && plannedSpecVersion !== task.specVersion) {
    return { kind: 'rejected', reason: `${REASON_SPEC_VERSION} (planned ${plannedSpecVersion}, now ${task.specVersion})` };
  }
  if (task.notBeforeMs > nowMs) return { kind: 'rejected', reason: `${REASON_BACKOFF} for ${task.notBeforeMs - nowMs}ms more` };
  if (machine === undefined) return { kind: 'rejected', reason: REASON_MACHINE_UNKNOWN };
  if (machine.state !== MachineState.UP) return { kind: 'rejected', reason: `${REASON_MACHINE_NOT_UP} (${MachineState[machine.state]})` };
  const unmet = unmetConstraint(task.spec.constraints, machine.attributes);
  if (unmet !== undefined) return { kind: 'rejected', reason: unmet };
  const priority = priorityOf(task);
  const evicted = new Set<TaskRec>();
  for (const v of victims) {
    if (v === undefined || v.machine !== machine || v.state !== TaskState.RUNNING) return { kind: 'rejected', reason: REASON_VICTIM_GONE };
    if (v === task) return { kind: 'rejected', reason: REASON_VICTIM_SELF };
    if (!canPreempt(priority, priorityOf(v))) {
      return { kind: 'rejected', reason: `${REASON_VICTIM_NOT_PREEMPTIBLE} (${v.id} at priority ${priorityOf(v)}, preemptor at ${priority})` };
    }
    evicted.add(v);
  }
  if (machine.tasks.size - evicted.size + 1 > MAX_TASKS_PER_MACHINE) return { kind: 'rejected', reason: REASON_TOO_MANY_TASKS };
  const need = limitOf(task);
  const prod = isProd(priority);
  // Running sums kept by charge() make this O(victims), not O(tasks on the machine). A prod candidate can
  // preempt every non-prod task (prod priorities are above all others) and no prod one, so it is charged exactly
  // the machine's prodLimit; its victims are non-prod and not in that sum.
  const charged = prod ? { ...machine.prodLimit } : { ...machine.allocatedReservation };
  let portsUsed = machine.usedPorts.size;
  for (const v of evicted) {
    portsUsed -= v.ports.length;
    if (!prod) {
      const r = reservationOf(v);
      charged.cpuMillis -= r.cpuMillis;
      charged.ramBytes -= r.ramBytes;
      charged.diskBytes -= r.diskBytes;
    }
  }
  if (portsUsed + need.ports > machine.capacity.ports) {
    return { kind: 'rejected', reason: `${REASON_PORTS} (needs ${need.ports}, ${machine.capacity.ports - portsUsed} free)` };
  }
  const short = RESOURCE_DIMENSIONS.filter((d) => d !== 'ports' && charged[d] + need[d] > machine.capacity[d]);
  if (short.length > 0) return { kind: 'rejected', reason: `${REASON_INSUFFICIENT} ${short.map((d) => DIM_NAMES[d]).join(', ')}` };
  return { kind: 'fits' };
}

/**
 * resizeDelta: what a placed task adds to its machine's charge (prod: the prod limits there; non-prod: the
 * reservations there) when its limit becomes `limit` (a reservation starts over at the new limit).
 */
export function resizeDelta(task: TaskRec, limit: Resources): Resources {
  const mine = isProd(priorityOf(task)) ? limitOf(task) : reservationOf(task);
  return { cpuMillis: limit.cpuMillis - mine.cpuMillis, ramBytes: limit.ramBytes - mine.ramBytes, diskBytes: limit.diskBytes - mine.diskBytes, ports: 0 };
}

/**
 * fitsResized: a placed task still fits its machine with `limit` instead of its own, after `grown` more is
 * charged there (other tasks resized before it in the same update).
 */
export function fitsResized(task: TaskRec, limit: Resources, grown: Resources = NO_GROWTH): boolean {
  const machine = task.machine;
  if (machine === undefined) return true;
  const charged = isProd(priorityOf(task)) ? machine.prodLimit : machine.allocatedReservation;
  const delta = resizeDelta(task, limit);
  return RESOURCE_DIMENSIONS.every((d) => d === 'ports' || charged[d] + grown[d] + delta[d] <= machine.capacity[d]);
}

const NO_GROWTH: Resources = { cpuMillis: 0, ramBytes: 0, diskBytes: 0, ports: 0 };

/** allocatePorts picks the lowest free port numbers of the machine, deterministically. */
export function allocatePorts(machine: MachineRec, count: number): number[] {
  const out: number[] = [];
  for (let p = machine.portBase; out.length < count && p < machine.portBase + machine.capacity.ports; p++) {
    if (!machine.usedPorts.has(p)) out.push(p);
  }
  return out;
}

/**
 * charge adds (sign 1) or removes (sign -1) a task's limit and reservation from its machine's running sums;
 * `prod` says whether the task counts toward prodLimit.
 */
export function charge(machine: MachineRec, limit: Resources, reservation: Resources, sign: 1 | -1, prod: boolean): void {
  for (const d of RESOURCE_DIMENSIONS) {
    machine.allocatedLimit[d] += sign * limit[d];
    machine.allocatedReservation[d] += sign * reservation[d];
    if (prod) machine.prodLimit[d] += sign * limit[d];
  }
}
