// Turns a Borglet's full report into only the differences the state machine needs (B15 §3.3: link shards
// "report only differences"): task ends, tasks the Borglet lost, restarts in place, reservations that moved by
// at least one quantum, and health that changed. Pure: the same report against the same state always gives the
// same commands.
import { EventType, TaskState, type TaskStatus, type TaskTransition, type ReservationUpdate, type HealthUpdate } from '../../proto/index';
import { equal } from '../../model/resources';
import { quantiseReservation } from '../state/reservation';
import { limitOf, reservationOf, type MachineRec, type TaskRec } from '../state/records';

export interface ReportDiff {
  transitions: TaskTransition[];
  reservations: ReservationUpdate[];
  /** health: each with the time of the state's last health change of the task (what the change is measured from). */
  health: { update: HealthUpdate; sinceMs: number }[];
}

function transition(t: TaskRec, machine: string, event: EventType, exitCode: number, message: string): TaskTransition {
  return { taskId: t.id, event, machine, specVersion: t.specVersion, victimTaskIds: [], exitCode, message, restarts: 0 };
}

/** endEvent maps what the Borglet saw to the trace vocabulary; an OOM kill is a failure of the task. */
function endEvent(s: TaskStatus): { event: EventType; message: string } {
  if (s.oomKilled) return { event: EventType.FAIL, message: s.message || 'killed by the kernel: out of memory' };
  switch (s.lastEvent) {
    case EventType.FINISH:
    case EventType.FAIL:
    case EventType.EVICT:
    case EventType.KILL:
    case EventType.LOST:
      // The master did not ask for a kill of a task it still wants: the machine did it (pressure), an eviction.
      return { event: s.lastEvent === EventType.KILL ? EventType.EVICT : s.lastEvent, message: s.message };
    default:
      return { event: s.exitCode === 0 ? EventType.FINISH : EventType.FAIL, message: s.message };
  }
}

/**
 * diffReport compares the Borglet's statuses with the tasks the state has RUNNING on `machine`. `sent` is the
 * set of task ids that the poll's desired state listed: a listed task missing from the reply is LOST.
 */
export function diffReport(machine: MachineRec, statuses: readonly TaskStatus[], sent: ReadonlySet<string>): ReportDiff {
  const out: ReportDiff = { transitions: [], reservations: [], health: [] };
  const reported = new Map<string, TaskStatus>();
  for (const s of statuses) reported.set(s.taskId, s);
  for (const t of machine.tasks) {
    const s = reported.get(t.id);
    if (s === undefined) {
      if (sent.has(t.id)) out.transitions.push(transition(t, machine.name, EventType.LOST, 0, 'the Borglet does not know this task'));
      continue;
    }
    if (s.specVersion !== t.specVersion) continue; // an update is under way: the report is about the old version
    // The Borglet restarted the task in place (its restart policy, a failed health check) since the last count:
    // a RESTART carries its count, which the state compares with what it counted (cell_state report). Before the
    // task's end, if it ended: the master's restart policy counts those restarts among its failures.
    if (s.restarts !== t.machineRestarts) {
      const message = `restarted on the machine, ${s.restarts} time(s) since placed${s.message === '' ? '' : ` (${s.message})`}`;
      out.transitions.push({ ...transition(t, machine.name, EventType.RESTART, 0, message), restarts: s.restarts });
    }
    if (s.state === TaskState.DEAD) {
      const { event, message } = endEvent(s);
      const end = transition(t, machine.name, event, s.exitCode, message);
      // The Borglet's streak of ended runs (an older Borglet keeps none), for the restart policy's count.
      if ((event === EventType.FAIL || event === EventType.FINISH) && s.streak !== undefined && s.streak > 0) {
        end.streak = s.streak;
        end.streakReset = s.streakReset === true;
      }
      out.transitions.push(end);
      continue;
    }
    if (s.state !== TaskState.RUNNING) continue;
    if (s.reservation !== undefined) {
      const q = quantiseReservation(s.reservation, limitOf(t));
      if (!equal(q, reservationOf(t))) out.reservations.push({ taskId: t.id, machine: machine.name, reservation: q });
    }
    // Health goes after the transitions: a RESTART above makes the state's health false (a new run) first.
    const before = s.restarts > t.machineRestarts ? false : t.healthy;
    if (s.healthy !== before) out.health.push({ update: { taskId: t.id, machine: machine.name, healthy: s.healthy }, sinceMs: t.healthTimeMs });
  }
  return out;
}
