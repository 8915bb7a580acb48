// Autonomy (B15 §4) with the real daemon: an older ballot is refused; with no master at all tasks keep running;
// after `kill -9` of the Borglet and a restart, every task still runs with the same pid and is reported again,
// the seen ballot survived, a task that ended meanwhile is reported with its real exit status, and no cgroup leaks.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { TaskState, EventType } from '../proto/index';
import { detectCgroupDriver } from '../borglet/cgroups/index';
import { TestMachine, PollClient, spec, task, find, waitFor, alive } from './borglet_support';

const m = new TestMachine('autonomy');
const clients: PollClient[] = [];
after(async () => {
  for (const c of clients) c.close();
  await m.cleanup();
});

const args = ['--cpu', '1', '--ram', '512MiB', '--sample-interval', '100ms'];

test('older ballots refused, no master keeps tasks, kill -9 and restart keeps pids, no cgroup leaks', async () => {
  const d1 = await m.start(args);
  const c1 = new PollClient(d1.address);
  clients.push(c1);
  const newer = { round: 7, replica: 2 };
  const older = { round: 7, replica: 1 };
  const prod = task(0, spec('/bin/sleep', ['1000']), { priority: 200 });
  const batch = task(1, spec('/bin/sh', ['-c', 'exec sleep 1000']), { priority: 100 });
  const short = task(2, spec('/bin/sh', ['-c', 'sleep 1.5; exit 7']), { priority: 100 });
  const first = await c1.poll(newer, [prod, batch, short]);
  const pids = new Map(first.tasks.map((t) => [t.taskId, t.pid]));
  for (const t of first.tasks) assert.equal(t.state, TaskState.RUNNING, t.taskId);

  // A deposed master (older ballot) orders everything killed: refused, nothing changes.
  const refused = await c1.poll(older, []);
  assert.equal(refused.refused, true);
  assert.deepEqual(refused.ballotSeen, newer);
  assert.equal(refused.tasks.length, 3);
  await new Promise((r) => setTimeout(r, 300));
  for (const [id, pid] of pids) assert.ok(alive(pid), `${id} survives the refused poll`);

  // No master at all for a while, then the Borglet itself dies (kill -9) while `short` is about to exit.
  await new Promise((r) => setTimeout(r, 500));
  await d1.kill9();
  await new Promise((r) => setTimeout(r, 1_800));
  assert.ok(alive(pids.get(prod.taskId) ?? -1) && alive(pids.get(batch.taskId) ?? -1), 'tasks outlive their Borglet');

  const d2 = await m.start(args);
  const c2 = new PollClient(d2.address);
  clients.push(c2);
  // The ballot survived the crash: the older master is still refused.
  const again = await c2.poll(older, [], { authoritative: true });
  assert.equal(again.refused, true);
  assert.deepEqual(again.ballotSeen, newer);
  const r = await c2.poll(newer, [prod, batch, short]);
  for (const t of [prod, batch]) {
    const s = find(r, t.taskId);
    assert.equal(s.state, TaskState.RUNNING, `${t.taskId}: ${s.message}`);
    assert.equal(s.pid, pids.get(t.taskId), `${t.taskId} kept its pid`);
  }
  const ended = await waitFor('the short task to be reported', async () => {
    const s = find(await c2.poll(newer, [prod, batch, short]), short.taskId);
    return s.state === TaskState.DEAD ? s : undefined;
  }, 5_000);
  assert.equal(ended.exitCode, 7, 'the exit status written by the task wrapper was recovered');
  assert.equal(ended.lastEvent, EventType.FAIL);
  assert.deepEqual(detectCgroupDriver(m.name).list(), ['test.u.job.0', 'test.u.job.1'], 'exactly the running tasks have cgroups');
  // Usage is sampled again for the adopted tasks (they are no longer the Borglet's children).
  await waitFor('usage of an adopted task', async () => (find(await c2.poll(newer, [prod, batch]), prod.taskId).usage?.ramBytes ?? 0) > 0, 5_000);

  // A group left behind without any record (a Borglet that crashed between making it and recording the task) is
  // cleaned up at the next start.
  const orphanDir = `/sys/fs/cgroup/memory/borg/${m.name}/test.u.orphan.0`;
  mkdirSync(orphanDir);
  await d2.kill9();
  const d3 = await m.start(args);
  const c3 = new PollClient(d3.address);
  clients.push(c3);
  assert.deepEqual(detectCgroupDriver(m.name).list(), ['test.u.job.0', 'test.u.job.1'], 'the orphan group is gone');
  const r3 = await c3.poll(newer, [prod, batch]);
  assert.equal(find(r3, prod.taskId).pid, pids.get(prod.taskId), 'still the same pid after a second restart');

  // The master lets go of everything: tasks stop, records and cgroups go.
  await c3.poll({ round: 8, replica: 1 }, []);
  await waitFor('every task forgotten', async () => (await c3.poll({ round: 8, replica: 1 }, [])).tasks.length === 0);
  for (const [, pid] of pids) assert.equal(alive(pid), false);
  await waitFor('no cgroups left', () => detectCgroupDriver(m.name).list().length === 0, 3_000, 20);
});
