// EventLog: a bounded ring of task events, visited oldest first or newest first, the oldest dropped at capacity.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventLog } from './event_log';
import { EventType, type TaskEvent } from '../../proto/index';

const ev = (i: number): TaskEvent => ({ timeMs: i, logIndex: i, taskId: `c/u/j/${i % 2}`, type: EventType.SUBMIT, machine: i % 3 === 0 ? `m${i}` : '', user: 'u', job: 'j', priority: 0, message: '' });

test('EventLog keeps the newest capacity events and visits them either way, stopping early on request', () => {
  const log = new EventLog(4);
  for (let i = 1; i <= 6; i++) log.push(ev(i));
  assert.deepEqual(log.toArray().map((e) => e.timeMs), [3, 4, 5, 6], 'the two oldest dropped');
  const newest: number[] = [];
  log.forEachNewest((e) => {
    newest.push(e.timeMs);
  });
  assert.deepEqual(newest, [6, 5, 4, 3]);
  // The newest event of task 1 that names a machine (what TaskLogs asks for a task no longer placed).
  let last = '';
  log.forEachNewest((e) => {
    if (e.taskId !== 'c/u/j/1' || e.machine === '') return true;
    last = e.machine;
    return false;
  });
  assert.equal(last, 'm3');
});
