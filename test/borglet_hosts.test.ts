// One host, several machines: two Borglets with overridden capacities and attributes run side by side with the
// same task ids, each in its own cgroup subtree, state directory and port, and neither touches the other's tasks.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { TaskState } from '../proto/index';
import { detectCgroupDriver } from '../borglet/cgroups/index';
import { TestMachine, PollClient, spec, task, find, waitFor, alive, MiB } from './borglet_support';

const a = new TestMachine('hosta');
const b = new TestMachine('hostb');
const clients: PollClient[] = [];
after(async () => {
  for (const c of clients) c.close();
  await a.cleanup();
  await b.cleanup();
});

test('two Borglets on one host do not collide', async () => {
  const [da, db] = await Promise.all([
    a.start(['--cpu', '500m', '--ram', '256MiB', '--disk', '1GiB', '--ports', '10', '--attr', 'rack=r1', '--attr', 'arch=x86']),
    b.start(['--cpu', '1500m', '--ram', '768MiB', '--attr', 'rack=r2']),
  ]);
  const ca = new PollClient(da.address);
  const cb = new PollClient(db.address);
  clients.push(ca, cb);
  const t = task(0, spec('/bin/sleep', ['1000'], { ramBytes: 16 * MiB }));
  const ballot = { round: 1, replica: 1 };
  const [ra, rb] = await Promise.all([ca.poll(ballot, [t]), cb.poll(ballot, [t])]);
  assert.deepEqual(ra.facts?.capacity, { cpuMillis: 500, ramBytes: 256 * MiB, diskBytes: 1024 * MiB, ports: 10 });
  assert.equal(rb.facts?.capacity?.cpuMillis, 1500);
  assert.equal(ra.facts?.attributes.rack, 'r1');
  assert.equal(ra.facts?.attributes.arch, 'x86');
  assert.equal(rb.facts?.attributes.rack, 'r2');
  const pa = find(ra, t.taskId).pid;
  const pb = find(rb, t.taskId).pid;
  assert.notEqual(pa, pb);
  assert.match(readFileSync(`/proc/${pa}/cgroup`, 'utf8'), new RegExp(`memory:/borg/${a.name}/test\\.u\\.job\\.0`));
  assert.match(readFileSync(`/proc/${pb}/cgroup`, 'utf8'), new RegExp(`memory:/borg/${b.name}/test\\.u\\.job\\.0`));
  // Each machine's capacity is enforced by the kernel on its own subtree.
  assert.equal(readFileSync(`/sys/fs/cgroup/memory/borg/${a.name}/memory.limit_in_bytes`, 'utf8').trim(), String(256 * MiB));
  assert.equal(readFileSync(`/sys/fs/cgroup/cpu/borg/${b.name}/cpu.cfs_quota_us`, 'utf8').trim(), '150000');
  // The master of machine a lets go of the task: only a's copy stops.
  await ca.poll(ballot, []);
  await waitFor('a to forget its task', async () => (await ca.poll(ballot, [])).tasks.length === 0);
  assert.equal(alive(pa), false);
  assert.ok(alive(pb));
  assert.equal(find(await cb.poll(ballot, [t]), t.taskId).state, TaskState.RUNNING);
  assert.deepEqual(detectCgroupDriver(b.name).list(), ['test.u.job.0']);
  await waitFor('a has no groups', () => detectCgroupDriver(a.name).list().length === 0, 3_000, 20);
  await cb.poll(ballot, []);
});
