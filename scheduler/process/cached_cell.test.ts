// The scheduler process's cache, fed Watch events by hand: what is queued, placed, held and forgotten.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CachedCell } from './cached_cell';
import { EventType, MachineState, TaskState, type Job, type Machine, type Task, type WatchEvent } from '../../proto/index';
import { jobSpec, machine } from '../../borgmaster/state/builders';
import { MiB } from '../../model/resources';

const m0: Machine = { ...machine('m0', {}, { state: MachineState.UP, address: '127.0.0.1:1' }) };
const m1: Machine = { ...machine('m1', {}, { state: MachineState.UP, address: '127.0.0.1:2' }) };
const job: Job = { spec: jobSpec({ cell: 'c', taskCount: 2, task: { requirements: { cpuMillis: 100, ramBytes: 64 * MiB, diskBytes: 0, ports: 0 } } }), specVersion: 1, createdMs: 0, running: 0, pending: 2, dead: 0, killed: false, healthy: 0, atVersion: 2, rolloutDown: 0 };

function task(index: number, over: Partial<Task> = {}): Task {
  return {
    id: `c/alice/web/${index}`, job: 'web', user: 'alice', index, priority: 200, state: TaskState.PENDING, lastEvent: EventType.SUBMIT, machine: '',
    limit: { cpuMillis: 100, ramBytes: 64 * MiB, diskBytes: 0, ports: 0 }, reservation: undefined, usage: undefined, ports: [], restarts: 0,
    specVersion: 1, startTimeMs: 0, stateTimeMs: 0, whyPending: '', exitCode: 0, bnsName: '', message: '', notBeforeMs: 0, healthy: false, healthTimeMs: 0, ...over,
  };
}

function ev(over: Partial<WatchEvent>): WatchEvent {
  return { logIndex: 1, snapshot: false, jobs: [], tasks: [], machines: [], deletedTaskIds: [], deletedJobIds: [], events: [], snapshotPart: 0, snapshotLast: false, cellTimeMs: 1000, ...over };
}

test('a snapshot fills the cache; deltas queue, place, hold and forget tasks', () => {
  const c = new CachedCell();
  c.apply(ev({ snapshot: true, snapshotPart: 0, jobs: [job], machines: [m0, m1] }));
  assert.equal(c.ready, false, 'not ready until the last part');
  c.apply(ev({ snapshot: true, snapshotPart: 1, snapshotLast: true, logIndex: 5, tasks: [task(0), task(1, { state: TaskState.RUNNING, machine: 'm1' })] }));
  assert.equal(c.ready, true);
  assert.equal(c.logIndex, 5);
  assert.equal(c.queue.size, 1, 'task 0 pending');
  assert.equal(c.snap.placedTasks(), 1, 'task 1 placed');

  // Task 0 fails on m0 and comes back in restart back-off: held until its not-before time, and it avoids m0.
  c.apply(ev({ logIndex: 6, cellTimeMs: 2000, tasks: [task(0, { notBeforeMs: 5000 })], events: [{ timeMs: 2000, logIndex: 6, taskId: 'c/alice/web/0', type: EventType.FAIL, machine: 'm0', user: 'alice', job: 'web', priority: 200, message: '' }] }));
  assert.equal(c.queue.size, 0, 'in back-off: not queued');
  const t0 = c.tasks.id('c/alice/web/0');
  const slot0 = c.snap.slot(c.machines.id('m0'));
  assert.equal(c.snap.avoids(t0, slot0, 3000), true, 'avoids the machine it failed on');
  c.release(4999);
  assert.equal(c.queue.size, 0);
  c.release(5000);
  assert.equal(c.queue.size, 1, 'queued once the back-off is over');

  // Rejected by the master: held for a while, then queued again. The cache says when the earliest hold is due, so
  // the process can time a pass for it.
  assert.equal(c.nextReleaseMs, Infinity);
  c.hold('c/alice/web/0', 6000);
  assert.equal(c.queue.size, 0);
  assert.equal(c.nextReleaseMs, 6000);
  c.release(6000);
  assert.equal(c.queue.size, 1);
  assert.equal(c.nextReleaseMs, Infinity);

  // Task 1 ends and is deleted: forgotten everywhere.
  c.apply(ev({ logIndex: 7, deletedTaskIds: ['c/alice/web/1'] }));
  assert.equal(c.snap.placedTasks(), 0);

  // A new snapshot starts over.
  c.apply(ev({ snapshot: true, snapshotPart: 0, snapshotLast: true, logIndex: 9, jobs: [job], machines: [m0] }));
  assert.equal(c.queue.size, 0);
  assert.equal(c.logIndex, 9);
});

test('a running task updated in place to a new priority is placed again as it is now', () => {
  const c = new CachedCell();
  c.apply(ev({ snapshot: true, snapshotPart: 0, snapshotLast: true, logIndex: 5, jobs: [job], machines: [m0], tasks: [task(0, { state: TaskState.RUNNING, machine: 'm0', priority: 100 })] }));
  const t0 = c.tasks.id('c/alice/web/0');
  assert.equal(c.snap.placedTask(t0)?.priority, 100);
  // Batch -> prod in place: the same machine, a new spec version; the cache's task now has priority 250, so no
  // candidate will plan to preempt it (the master would refuse such a plan).
  c.apply(ev({ logIndex: 6, jobs: [{ ...job, spec: { ...job.spec!, priority: 250 }, specVersion: 2 }], tasks: [task(0, { state: TaskState.RUNNING, machine: 'm0', priority: 250, specVersion: 2 })] }));
  assert.equal(c.snap.placedTask(t0)?.priority, 250);
  assert.equal(c.snap.machineOfTask(t0), c.machines.id('m0'));
  assert.equal(c.snap.placedTasks(), 1);
});

test('arrivals count the tasks that join the queue, not updates of tasks already in it', () => {
  const c = new CachedCell();
  c.apply(ev({ snapshot: true, snapshotPart: 0, snapshotLast: true, jobs: [job], machines: [m0, m1], tasks: [task(0)] }));
  assert.equal(c.arrivals, 1, 'the snapshot queued task 0');
  c.apply(ev({ logIndex: 2, tasks: [task(0, { whyPending: '0/2 machines feasible' })] }));
  assert.equal(c.arrivals, 1, 'a verdict recorded on a queued task is not an arrival');
  c.apply(ev({ logIndex: 3, tasks: [task(1)] }));
  assert.equal(c.arrivals, 2, 'a new task');
  c.apply(ev({ logIndex: 4, tasks: [task(1, { state: TaskState.RUNNING, machine: 'm1' })] }));
  assert.equal(c.queue.size, 1);
  c.apply(ev({ logIndex: 5, tasks: [task(1, { lastEvent: EventType.EVICT })] }));
  assert.equal(c.arrivals, 3, 'back to pending after an eviction');
  c.hold('c/alice/web/1', 6000);
  c.apply(ev({ logIndex: 6, tasks: [task(1, { whyPending: 'held' })] }));
  assert.equal(c.arrivals, 3, 'a held task stays out of the queue');
  c.release(6000);
  assert.equal(c.arrivals, 4, 'released from its hold');
});
