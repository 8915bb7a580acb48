import { test } from 'node:test';
import assert from 'node:assert/strict';
import { transition, endsTask, EventType, TaskState } from './task_state';

const { PENDING, RUNNING, DEAD, TASK_STATE_UNSPECIFIED: NEW } = TaskState;

test('task lifecycle: allowed transitions', () => {
  const rows: [TaskState, EventType, TaskState | 'invalid'][] = [
    [NEW, EventType.SUBMIT, PENDING],
    [DEAD, EventType.SUBMIT, PENDING],
    [RUNNING, EventType.SUBMIT, 'invalid'],
    [PENDING, EventType.SCHEDULE, RUNNING],
    [RUNNING, EventType.SCHEDULE, 'invalid'],
    [RUNNING, EventType.EVICT, DEAD],
    [PENDING, EventType.EVICT, 'invalid'],
    [RUNNING, EventType.FAIL, DEAD],
    [RUNNING, EventType.FINISH, DEAD],
    [PENDING, EventType.FINISH, 'invalid'],
    [PENDING, EventType.KILL, DEAD],
    [RUNNING, EventType.KILL, DEAD],
    [DEAD, EventType.KILL, 'invalid'],
    [RUNNING, EventType.LOST, DEAD],
    [PENDING, EventType.UPDATE_PENDING, PENDING],
    [RUNNING, EventType.UPDATE_RUNNING, RUNNING],
    [PENDING, EventType.UPDATE_RUNNING, 'invalid'],
  ];
  for (const [from, ev, want] of rows) {
    const t = transition(from, ev);
    const got = t.kind === 'ok' ? t.to : 'invalid';
    assert.equal(got, want, `${TaskState[from]} --${EventType[ev]}-->`);
  }
  assert.ok(endsTask(EventType.FAIL) && endsTask(EventType.LOST) && !endsTask(EventType.SCHEDULE));
});
