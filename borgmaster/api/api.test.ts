// The BorgMaster API over real gRPC on loopback with real mutual TLS from a throwaway CA: two API servers share
// one log (replica 1 leads, replica 2 follows). Shows: duplicate request ids applied once; quota rejection with
// the quota and the amount; a user cannot touch another user's job; admin-only operations; a follower answers
// reads tagged with its log index and redirects writes with the leader's address; Watch streams a snapshot then
// changes, resumes from an index, and cuts off a slow watcher; CommitPlan and why-pending.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { status, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import { EventType, MachineState, PriorityBand, TaskState, type BorgMasterClient, type WatchEvent } from '../../proto/index';
import { BorgError, NotLeader } from '../../model/errors';
import { GiB, MiB } from '../../model/resources';
import { jobSpec, type JobSpecInput } from '../state/index';
import type { Master, MasterServer } from './index';
import type { InProcessLogForHandlerTests } from './test_log_for_handler_tests';
import { call, startHandlerTestCell, TEST_CELL as CELL, type HandlerTestCell, type Identity } from './test_cell_for_handler_tests';

let cell: HandlerTestCell;
let log: InProcessLogForHandlerTests;
let leader: Master;
let follower: Master;
let servers: MasterServer[] = [];

before(async () => {
  cell = await startHandlerTestCell({ bufferEvents: 50 });
  ({ log, leader, follower, servers } = cell);
});
after(() => cell.close());

function client(who: Identity, server: MasterServer): BorgMasterClient {
  return cell.client(who, server === servers[0] ? 0 : 1);
}

const spec = (p: JobSpecInput = {}) => jobSpec({ cell: CELL, user: 'alice', task: { requirements: { cpuMillis: 500, ramBytes: 256 * MiB, diskBytes: 0, ports: 1 } }, ...p });

let seq = 0;
const rid = () => `req-${++seq}`;

async function rejects(p: Promise<unknown>, code: BorgError['code'], match?: RegExp): Promise<BorgError> {
  try {
    await p;
  } catch (e: unknown) {
    assert.ok(e instanceof BorgError, String(e));
    assert.equal(e.code, code, e.message);
    if (match) assert.match(e.message, match);
    return e;
  }
  assert.fail(`expected ${code}`);
}

test('submit, read back from leader and follower (tagged with the log index), kill', async () => {
  const alice = client('alice', servers[0] as MasterServer);
  const aliceF = client('alice', servers[1] as MasterServer);
  const created = await call(alice, alice.createJob, { requestId: rid(), spec: spec({ name: 'hello', taskCount: 3 }) });
  assert.equal(created.job?.pending, 3);
  assert.ok(created.logIndex > 0);
  const got = await call(aliceF, aliceF.getJob, { user: 'alice', job: 'hello' });
  assert.deepEqual(got.read, { replica: 2, logIndex: log.lastIndex, leader: false });
  assert.equal(got.tasks.length, 3);
  assert.equal(got.tasks[0]?.bnsName, '0.hello.alice.test.borg');
  const tasks = await call(alice, alice.listTasks, { user: 'alice', job: 'hello', machine: '', state: TaskState.PENDING, pageSize: 2, pageToken: '' });
  assert.equal(tasks.tasks.length, 2);
  assert.equal(tasks.nextPageToken, '2');
  const rest = await call(alice, alice.listTasks, { user: 'alice', job: 'hello', machine: '', state: TaskState.PENDING, pageSize: 2, pageToken: tasks.nextPageToken });
  assert.deepEqual(rest.tasks.map((t) => t.index), [2]);
  const ev = await call(alice, alice.listEvents, { user: 'alice', job: 'hello', machine: '', taskId: '', types: [EventType.SUBMIT], sinceMs: 0, pageSize: 0, pageToken: '' });
  assert.equal(ev.events.length, 3);
  const status1 = await call(aliceF, aliceF.cellStatus, {});
  assert.equal(status1.leaderAddress, servers[0]?.address);
  assert.equal(status1.machinesUp, 3);
  assert.equal(status1.replicas.length, 2);
  await call(alice, alice.killJob, { requestId: rid(), user: 'alice', job: 'hello' });
  await rejects(call(aliceF, aliceF.getJob, { user: 'alice', job: 'hello' }), 'not_found');
});

test('duplicate request ids are applied once', async () => {
  const alice = client('alice', servers[0] as MasterServer);
  const id = rid();
  const first = await call(alice, alice.createJob, { requestId: id, spec: spec({ name: 'dup', taskCount: 2 }) });
  const indexAfter = log.lastIndex;
  const second = await call(alice, alice.createJob, { requestId: id, spec: spec({ name: 'dup', taskCount: 2 }) });
  assert.equal(second.logIndex, first.logIndex, 'the same answer as the first time');
  assert.equal(log.lastIndex, indexAfter, 'nothing proposed for the retry');
  const evs = await call(alice, alice.listEvents, { user: 'alice', job: 'dup', machine: '', taskId: '', types: [], sinceMs: 0, pageSize: 0, pageToken: '' });
  assert.equal(evs.events.length, 2, 'two SUBMITs, not four');
  // The same id for a different request is refused, naming the field.
  await rejects(call(alice, alice.killJob, { requestId: id, user: 'alice', job: 'dup' }), 'invalid_argument', /^requestId: "req-\d+" was already used for a different request$/);
  // A retried kill after the kill succeeded gets the same success, not NOT_FOUND.
  const kid = rid();
  await call(alice, alice.killJob, { requestId: kid, user: 'alice', job: 'dup' });
  await call(alice, alice.killJob, { requestId: kid, user: 'alice', job: 'dup' });
});

test('quota rejection says which quota and by how much; nothing is proposed', async () => {
  const alice = client('alice', servers[0] as MasterServer);
  const before = log.lastIndex;
  await rejects(
    call(alice, alice.createJob, { requestId: rid(), spec: spec({ name: 'huge', taskCount: 10 }) }),
    'resource_exhausted',
    /quota of user alice in band prod \(priority 200\) of cell test exceeded: cpu: needs 5 cores, quota 4 cores, short by 1 core/,
  );
  assert.equal(log.lastIndex, before);
  // Free band: unlimited.
  const free = await call(alice, alice.createJob, { requestId: rid(), spec: spec({ name: 'free', priority: 0, taskCount: 100 }) });
  assert.equal(free.job?.pending, 100);
  await call(alice, alice.killJob, { requestId: rid(), user: 'alice', job: 'free' });
});

test('a user cannot touch another user\'s job; machine operations and quotas need the admin role', async () => {
  const alice = client('alice', servers[0] as MasterServer);
  const bob = client('bob', servers[0] as MasterServer);
  const root = client('root', servers[0] as MasterServer);
  await call(alice, alice.createJob, { requestId: rid(), spec: spec({ name: 'mine' }) });
  const before = log.lastIndex;
  await rejects(call(bob, bob.killJob, { requestId: rid(), user: 'alice', job: 'mine' }), 'permission_denied', /bob may not kill jobs of user alice/);
  await rejects(call(bob, bob.updateJob, { requestId: rid(), spec: spec({ name: 'mine', taskCount: 2 }), dryRun: false }), 'permission_denied');
  await rejects(call(bob, bob.createJob, { requestId: rid(), spec: spec({ name: 'sneaky' }) }), 'permission_denied');
  await rejects(call(bob, bob.drainMachine, { requestId: rid(), machine: 'm0' }), 'permission_denied', /admin role/);
  await rejects(call(alice, alice.setQuota, { requestId: rid(), quota: { user: 'alice', band: PriorityBand.PRODUCTION, cell: '', limit: { cpuMillis: 12000, ramBytes: 0, diskBytes: 0, ports: 0 }, used: undefined } }), 'permission_denied');
  await rejects(call(alice, alice.saveCheckpoint, {}), 'permission_denied');
  await rejects(call(alice, alice.commitPlan, { requestId: rid(), baseLogIndex: 0, assignments: [], pending: [], passSeconds: 0 }), 'permission_denied', /scheduler role/);
  assert.equal(log.lastIndex, before, 'refusals propose nothing');
  assert.ok(leader.state.getJob('alice', 'mine'));
  // An admin may.
  await call(root, root.drainMachine, { requestId: rid(), machine: 'm2' });
  assert.equal(follower.state.machines.get('m2')?.state, MachineState.DRAINING);
  await call(root, root.undrainMachine, { requestId: rid(), machine: 'm2' });
  await call(root, root.setQuota, { requestId: rid(), quota: { user: 'bob', band: PriorityBand.BEST_EFFORT, cell: CELL, limit: { cpuMillis: 1000, ramBytes: GiB, diskBytes: 0, ports: 0 }, used: undefined } });
  const q = await call(bob, bob.listQuotas, { user: 'bob' });
  assert.deepEqual(q.quotas.map((x) => x.band).sort(), [PriorityBand.BEST_EFFORT, PriorityBand.PRODUCTION]);
  const cp = await call(root, root.saveCheckpoint, {});
  assert.ok(cp.checkpoint.length > 0 && cp.logIndex === leader.state.appliedIndex);
  await call(root, root.killJob, { requestId: rid(), user: 'alice', job: 'mine' });
});

test('a follower redirects writes: NotLeader with the leader address in the borg-leader trailer', async () => {
  const aliceF = client('alice', servers[1] as MasterServer);
  const before = log.lastIndex;
  const e = await rejects(call(aliceF, aliceF.createJob, { requestId: rid(), spec: spec({ name: 'redirected' }) }), 'not_leader');
  assert.ok(e instanceof NotLeader);
  assert.equal(e.leaderAddress, servers[0]?.address);
  assert.equal(log.lastIndex, before);
  // The client follows the hint and succeeds on the leader.
  const alice = client('alice', servers[0] as MasterServer);
  await call(alice, alice.createJob, { requestId: rid(), spec: spec({ name: 'redirected' }) });
  assert.ok(follower.state.getJob('alice', 'redirected'), 'and the follower applied it from the log');
  await call(alice, alice.killJob, { requestId: rid(), user: 'alice', job: 'redirected' });
});

test('rolling update over the API: dry run lists what restarts; a priority-only change restarts nothing', async () => {
  const alice = client('alice', servers[0] as MasterServer);
  const sched = client('sched', servers[0] as MasterServer);
  const base = { name: 'svc', taskCount: 3, updatePolicy: { maxTasksDown: 1 } };
  await call(alice, alice.createJob, { requestId: rid(), spec: spec(base) });
  const plan = await call(sched, sched.commitPlan, {
    requestId: rid(),
    baseLogIndex: log.lastIndex,
    assignments: [0, 1, 2].map((i) => ({ taskId: `test/alice/svc/${i}`, machine: `m${i}`, machineGeneration: 0, victimTaskIds: [], specVersion: 1 })),
    pending: [],
    passSeconds: 0.001,
  });
  assert.equal(plan.acceptedTaskIds.length, 3);
  const dry = await call(alice, alice.updateJob, { requestId: '', spec: spec({ ...base, task: { args: ['1'], requirements: { cpuMillis: 500, ramBytes: 256 * MiB, diskBytes: 0, ports: 1 } } }), dryRun: true });
  assert.deepEqual(dry.restartedTaskIds, ['test/alice/svc/0', 'test/alice/svc/1', 'test/alice/svc/2']);
  assert.match(dry.diff, /task spec changed; 3 task\(s\) restart/);
  assert.equal(leader.state.getJob('alice', 'svc')?.current.version, 1, 'a dry run changes nothing');
  const prio = await call(alice, alice.updateJob, { requestId: rid(), spec: spec({ ...base, priority: 210 }), dryRun: false });
  assert.deepEqual(prio.restartedTaskIds, []);
  assert.equal(prio.job?.running, 3);
  const real = await call(alice, alice.updateJob, { requestId: rid(), spec: spec({ ...base, priority: 210, task: { args: ['1'], requirements: { cpuMillis: 500, ramBytes: 256 * MiB, diskBytes: 0, ports: 1 } } }), dryRun: false });
  assert.equal(real.restartedTaskIds.length, 3);
  assert.equal(real.job?.running, 2, 'one task down at a time (maxTasksDown 1)');
  await call(alice, alice.killJob, { requestId: rid(), user: 'alice', job: 'svc' });
});

test('CommitPlan records why-pending verdicts that GetTask returns', async () => {
  const alice = client('alice', servers[0] as MasterServer);
  const sched = client('sched', servers[0] as MasterServer);
  await call(alice, alice.createJob, { requestId: rid(), spec: spec({ name: 'wait', taskCount: 2 }) });
  const res = await call(sched, sched.commitPlan, {
    requestId: rid(),
    baseLogIndex: log.lastIndex,
    assignments: [{ taskId: 'test/alice/wait/0', machine: 'nowhere', machineGeneration: 0, victimTaskIds: [], specVersion: 1 }],
    pending: [{ taskId: 'test/alice/wait/1', why: '0/3 machines feasible: 3 constraint arch=arm64' }],
    passSeconds: 0.002,
  });
  assert.deepEqual(res.rejected, [{ taskId: 'test/alice/wait/0', reason: 'machine not found' }]);
  const t1 = await call(alice, alice.getTask, { taskId: 'test/alice/wait/1' });
  assert.equal(t1.task?.whyPending, '0/3 machines feasible: 3 constraint arch=arm64');
  assert.deepEqual(t1.events.map((e) => e.type), [EventType.SUBMIT]);
  const t0 = await call(alice, alice.getTask, { taskId: 'test/alice/wait/0' });
  assert.equal(t0.task?.whyPending, 'plan rejected by the master: machine not found');
  await call(alice, alice.killJob, { requestId: rid(), user: 'alice', job: 'wait' });
});

function collect(stream: ClientReadableStream<WatchEvent>, until: (evs: WatchEvent[]) => boolean): Promise<WatchEvent[]> {
  const evs: WatchEvent[] = [];
  return new Promise((resolve, reject) => {
    stream.on('data', (ev: WatchEvent) => {
      evs.push(ev);
      if (until(evs)) {
        stream.cancel();
        resolve(evs);
      }
    });
    stream.on('error', (e: ServiceError) => {
      if (e.code === status.CANCELLED) resolve(evs);
      else reject(e);
    });
  });
}

test('Watch: snapshot first from 0, then changes; resume from a log index replays only what came after', async () => {
  const alice = client('alice', servers[1] as MasterServer);
  const aliceL = client('alice', servers[0] as MasterServer);
  await call(aliceL, aliceL.createJob, { requestId: rid(), spec: spec({ name: 'w1' }) });
  const snapIndex = follower.state.appliedIndex;
  const stream = alice.watch({ fromLogIndex: 0 });
  let gotSnapshot: () => void = () => {};
  const snapshotSeen = new Promise<void>((resolve) => (gotSnapshot = resolve));
  const seen = collect(stream, (evs) => {
    if (evs.length === 1) gotSnapshot();
    return evs.some((e) => !e.snapshot && e.jobs.some((j) => j.spec?.name === 'w2'));
  });
  // Change the cell only once the snapshot is in, so the change must come as a live event.
  await snapshotSeen;
  await call(aliceL, aliceL.createJob, { requestId: rid(), spec: spec({ name: 'w2' }) });
  const evs = await seen;
  const first = evs[0];
  assert.ok(first?.snapshot && first.snapshotLast && first.snapshotPart === 0);
  assert.equal(first.logIndex, snapIndex);
  assert.equal(first.machines.length, 3);
  assert.ok(first.jobs.some((j) => j.spec?.name === 'w1'));
  const live = evs[evs.length - 1];
  assert.ok(live && !live.snapshot && live.logIndex === snapIndex + 1);
  assert.deepEqual(live.tasks.map((t) => t.id), ['test/alice/w2/0']);
  assert.deepEqual(live.events.map((e) => e.type), [EventType.SUBMIT]);
  // Resume from the snapshot's index: only the later change, no snapshot.
  const resumed = await collect(alice.watch({ fromLogIndex: snapIndex }), (e) => e.length >= 1);
  assert.equal(resumed[0]?.snapshot, false);
  assert.equal(resumed[0]?.logIndex, snapIndex + 1);
  await call(aliceL, aliceL.killJob, { requestId: rid(), user: 'alice', job: 'w1' });
  await call(aliceL, aliceL.killJob, { requestId: rid(), user: 'alice', job: 'w2' });
});

test('Watch: a watcher that does not read is cut off with RESOURCE_EXHAUSTED instead of growing memory', async () => {
  const alice = client('alice', servers[0] as MasterServer);
  const stream = alice.watch({ fromLogIndex: log.lastIndex });
  // Read one event, then stop reading: grpc-js then stops the HTTP/2 stream, so the server's writes back up.
  const firstSeen = new Promise<void>((resolve) => stream.once('data', () => {
    stream.pause();
    resolve();
  }));
  const ended = new Promise<ServiceError>((resolve) => stream.on('error', resolve));
  // Large events (many tasks each) so the transport's windows fill and the watcher's queue (50) overflows.
  for (let i = 0; i < 120; i++) {
    await call(alice, alice.createJob, { requestId: rid(), spec: spec({ name: `flood${i}`, priority: 0, taskCount: 200 }) });
    if (i === 0) await firstSeen;
  }
  assert.equal(leader.watch.watcherCount, 0, 'the slow watcher was dropped');
  stream.on('data', () => {});
  stream.resume();
  const err = await ended;
  assert.equal(err.code, status.RESOURCE_EXHAUSTED);
  assert.match(err.details, /watcher fell 50 events behind \(limit 50\); watch again from log index \d+/);
  for (let i = 0; i < 120; i++) await call(alice, alice.killJob, { requestId: rid(), user: 'alice', job: `flood${i}` });
});

test('after the leader changes, a retried request is answered from the replicated request cache, not applied again', async () => {
  const alice1 = client('alice', servers[0] as MasterServer);
  const alice2 = client('alice', servers[1] as MasterServer);
  const id = rid();
  const first = await call(alice1, alice1.createJob, { requestId: id, spec: spec({ name: 'survivor' }) });
  log.leaderId = 2;
  try {
    const before = log.lastIndex;
    const retried = await call(alice2, alice2.createJob, { requestId: id, spec: spec({ name: 'survivor' }) });
    assert.equal(retried.logIndex, first.logIndex);
    assert.equal(log.lastIndex, before, 'the new leader proposed nothing');
    // And the old leader now redirects to the new one.
    const e = await rejects(call(alice1, alice1.killJob, { requestId: rid(), user: 'alice', job: 'survivor' }), 'not_leader');
    assert.ok(e instanceof NotLeader && e.leaderAddress === servers[1]?.address);
    await call(alice2, alice2.killJob, { requestId: rid(), user: 'alice', job: 'survivor' });
  } finally {
    log.leaderId = 1;
  }
});
