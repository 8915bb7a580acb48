// The task lifecycle (DESIGN.md §3): PENDING -> RUNNING -> DEAD with the trace's event vocabulary. One table
// says which event moves a task from which state to which; everything that changes a task's state asks it.
import { EventType, TaskState } from '../proto/gen/borg/v1/types';

export { EventType, TaskState };

/** EVENT_TYPES: every event type, in the enum's order; EVENT_TYPE_NAMES their names (what filters accept). */
export const EVENT_TYPES: readonly EventType[] = Object.values(EventType).filter((v): v is EventType => typeof v === 'number' && v >= 0);
export const EVENT_TYPE_NAMES: readonly string[] = EVENT_TYPES.map((t) => EventType[t]);

export type Transition = { kind: 'ok'; to: TaskState } | { kind: 'invalid'; reason: string };

/**
 * TRANSITIONS: event -> (from -> to). Following the 2011 trace's state diagram: SUBMIT enters PENDING (also a
 * dead task resubmitted); SCHEDULE runs a pending task; EVICT, FAIL, KILL, LOST end a pending or running task;
 * FINISH ends a running one; UPDATE_* change the spec without changing state, and RESTART (the Borglet restarted
 * the task where it runs), HEALTHY and UNHEALTHY (its health check passes again, or fails) leave it running.
 */
const TRANSITIONS: Readonly<Record<EventType, Partial<Record<TaskState, TaskState>>>> = {
  [EventType.SUBMIT]: { [TaskState.TASK_STATE_UNSPECIFIED]: TaskState.PENDING, [TaskState.DEAD]: TaskState.PENDING },
  [EventType.SCHEDULE]: { [TaskState.PENDING]: TaskState.RUNNING },
  [EventType.EVICT]: { [TaskState.RUNNING]: TaskState.DEAD },
  [EventType.FAIL]: { [TaskState.RUNNING]: TaskState.DEAD },
  [EventType.FINISH]: { [TaskState.RUNNING]: TaskState.DEAD },
  [EventType.KILL]: { [TaskState.PENDING]: TaskState.DEAD, [TaskState.RUNNING]: TaskState.DEAD },
  [EventType.LOST]: { [TaskState.RUNNING]: TaskState.DEAD },
  [EventType.UPDATE_PENDING]: { [TaskState.PENDING]: TaskState.PENDING },
  [EventType.UPDATE_RUNNING]: { [TaskState.RUNNING]: TaskState.RUNNING },
  [EventType.RESTART]: { [TaskState.RUNNING]: TaskState.RUNNING },
  [EventType.HEALTHY]: { [TaskState.RUNNING]: TaskState.RUNNING },
  [EventType.UNHEALTHY]: { [TaskState.RUNNING]: TaskState.RUNNING },
};

export function transition(from: TaskState, event: EventType): Transition {
  const to = TRANSITIONS[event][from];
  if (to === undefined) return { kind: 'invalid', reason: `${EventType[event]} is not allowed in state ${TaskState[from]}` };
  return { kind: 'ok', to };
}

/** endsTask is true for the events that take a task to DEAD. */
export function endsTask(event: EventType): boolean {
  return TRANSITIONS[event][TaskState.RUNNING] === TaskState.DEAD;
}

export function eventName(e: EventType): string {
  return EventType[e];
}

export function stateName(s: TaskState): string {
  return TaskState[s];
}
