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

/** MachineCharges: a machine's running sums (charge keeps them), or a copy of them for a preview. */
export type MachineCharges = Pick<MachineRec, 'capacity' | 'allocatedLimit' | 'allocatedReservation' | 'prodLimit'>;

/**
 * fitsResized: a placed task still fits its machine (sums `on`: the machine's own, or a preview's copy) with `limit`
 * instead of its own, without displacing anyone: the reservations of everything there fit the capacity with its
 * new limit (its reservation starts over at the limit), and for prod the prod limits do too. A resize that would
 * need evictions is not taken in place: the task is rolled, and the scheduler places it, preempting if it must.
 */
export function fitsResized(task: TaskRec, limit: Resources, on: MachineCharges): boolean {
  const fits = (charged: Resources, mine: Resources): boolean =>
    RESOURCE_DIMENSIONS.every((d) => d === 'ports' || charged[d] - mine[d] + limit[d] <= on.capacity[d]);
  return fits(on.allocatedReservation, reservationOf(task)) && (!isProd(priorityOf(task)) || fits(on.prodLimit, limitOf(task)));
}

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
export function charge(machine: MachineCharges, limit: Resources, reservation: Resources, sign: 1 | -1, prod: boolean): void {
  for (const d of RESOURCE_DIMENSIONS) {
    machine.allocatedLimit[d] += sign * limit[d];
    machine.allocatedReservation[d] += sign * reservation[d];
    if (prod) machine.prodLimit[d] += sign * limit[d];
  }
}
