// Proto views of the state's records, for API answers and Watch events. Views are fresh objects (copies of the
// numbers, shared immutable specs), so a caller may keep or encode them after the state moves on.
import { bnsName } from '../../model/ids';
import { PriorityBand, TaskState, type Job, type Machine, type Quota, type Resources as ResourcesProto, type Task } from '../../proto/index';
import type { Resources } from '../../model/resources';
import { limitOf, reservationOf, type JobRec, type MachineRec, type QuotaRec, type TaskRec } from './records';
import type { Usage } from './quota';

function res(r: Resources | Usage): ResourcesProto {
  return { cpuMillis: r.cpuMillis, ramBytes: r.ramBytes, diskBytes: r.diskBytes, ports: r.ports };
}

export function jobView(job: JobRec): Job {
  return {
    spec: job.current.spec,
    specVersion: job.current.version,
    createdMs: job.createdMs,
    running: job.running,
    pending: job.pending,
    dead: job.dead,
    killed: false,
    healthy: job.healthy,
    atVersion: job.current.refs,
    rolloutDown: job.downCount,
  };
}

/** taskView renders a task; whyPending is the last scheduler verdict the caller holds for it, if any. */
export function taskView(task: TaskRec, cell: string, whyPending = ''): Task {
  const job = task.job;
  return {
    id: task.id,
    job: job.name,
    user: job.user,
    index: task.index,
    priority: job.current.spec.priority,
    state: task.state,
    lastEvent: task.lastEvent,
    machine: task.machine?.name ?? '',
    limit: res(limitOf(task)),
    reservation: task.machine !== undefined ? res(reservationOf(task)) : undefined,
    usage: undefined,
    ports: [...task.ports],
    restarts: task.restarts,
    specVersion: task.specVersion,
    startTimeMs: task.startTimeMs,
    stateTimeMs: task.stateTimeMs,
    whyPending,
    exitCode: task.exitCode,
    bnsName: bnsName({ cell, user: job.user, job: job.name, index: task.index }),
    message: task.message,
    notBeforeMs: task.state === TaskState.PENDING ? task.notBeforeMs : 0,
    healthy: task.healthy,
    healthTimeMs: task.healthTimeMs,
  };
}

export function machineView(m: MachineRec): Machine {
  return {
    name: m.name,
    address: m.address,
    capacity: res(m.capacity),
    attributes: { ...m.attributes },
    rack: m.rack,
    powerDomain: m.powerDomain,
    state: m.state,
    generation: m.generation,
    allocatedLimit: res(m.allocatedLimit),
    allocatedReservation: res(m.allocatedReservation),
    usage: undefined,
    lastPollMs: 0,
    portBase: m.portBase,
  };
}

export function quotaView(q: { user: string; band: PriorityBand; limit: Resources } | QuotaRec, cell: string, used: Usage): Quota {
  return { user: q.user, band: q.band, cell, limit: res(q.limit), used: res(used) };
}
