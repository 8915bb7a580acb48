// Must-shows under pressure, with real processes in real cgroups: the kernel OOM-kills a task that allocates past
// its limit and the Borglet reports OOM while neighbours live; memory short with mixed priorities evicts non-prod
// lowest priority first and leaves prod alone; a CPU-hungry non-prod task is throttled when prod needs the CPU.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { TaskState, EventType, type PollResponse } from '../proto/index';
import { TestMachine, PollClient, spec, task, find, waitFor, alive, MiB } from './borglet_support';

const machines: TestMachine[] = [];
const clients: PollClient[] = [];
after(async () => {
  for (const c of clients) c.close();
  for (const m of machines) await m.cleanup();
});

async function machine(label: string, args: string[]): Promise<{ m: TestMachine; c: PollClient }> {
  const m = new TestMachine(label);
  machines.push(m);
  const d = await m.start(args);
  const c = new PollClient(d.address);
  clients.push(c);
  return { m, c };
}

const ballot = { round: 1, replica: 1 };

test('OOM: the kernel kills a task past its RAM limit; the Borglet reports OOM; neighbours live', async () => {
  const { c } = await machine('oom', ['--cpu', '1', '--ram', '512MiB', '--sample-interval', '100ms']);
  // tail keeps its newline-free input in memory, so it grows until the kernel's OOM killer stops it.
  const hog = task(0, spec('/bin/sh', ['-c', 'sleep 0.3; head -c 300000000 /dev/zero | tail > /dev/null'], { ramBytes: 32 * MiB }), { priority: 200 });
  const n1 = task(1, spec('/bin/sleep', ['100'], { ramBytes: 32 * MiB }), { priority: 200 });
  const n2 = task(2, spec('/bin/sleep', ['100'], { ramBytes: 32 * MiB }), { priority: 100 });
  const first = await c.poll(ballot, [hog, n1, n2]);
  const s = await waitFor('the hog to die', async () => {
    const x = find(await c.poll(ballot, [hog, n1, n2]), hog.taskId);
    return x.state === TaskState.DEAD ? x : undefined;
  });
  assert.equal(s.oomKilled, true, s.message);
  assert.equal(s.lastEvent, EventType.FAIL);
  assert.match(s.message, /OOM-killed/);
  const r = await c.poll(ballot, [hog, n1, n2]);
  for (const n of [n1, n2]) {
    const x = find(r, n.taskId);
    assert.equal(x.state, TaskState.RUNNING);
    assert.equal(x.oomKilled, false);
    assert.equal(x.pid, find(first, n.taskId).pid, 'the neighbour kept its process');
    assert.ok(alive(x.pid));
  }
  await c.poll(ballot, []);
});

test('memory pressure: non-prod evicted lowest priority first until reservations fit; prod untouched', async () => {
  const { c } = await machine('mem', ['--cpu', '1', '--ram', '200MiB', '--sample-interval', '100ms']);
  const sleep = (ram: number) => spec('/bin/sleep', ['100'], { ramBytes: ram * MiB });
  const prod = task(0, sleep(100), { priority: 200 });
  const b110 = task(1, sleep(64), { priority: 110 });
  const b100 = task(2, sleep(64), { priority: 100 });
  const b105 = task(3, sleep(64), { priority: 105 });
  // Reservations start at the limits: 100 + 3 x 64 = 292MiB on a 200MiB machine. Evicting b100 leaves 228MiB,
  // still short; evicting b105 leaves 164MiB, which fits: b110 stays.
  const tasks = [prod, b110, b100, b105];
  const first = await c.poll(ballot, tasks);
  let r: PollResponse = first;
  await waitFor('two evictions', async () => {
    r = await c.poll(ballot, tasks);
    return r.tasks.filter((t) => t.state === TaskState.DEAD).length === 2;
  });
  await new Promise((res) => setTimeout(res, 500));
  r = await c.poll(ballot, tasks);
  for (const t of [b100, b105]) {
    const x = find(r, t.taskId);
    assert.equal(x.state, TaskState.DEAD, t.taskId);
    assert.equal(x.lastEvent, EventType.EVICT);
    assert.match(x.message, /machine short of memory/);
    assert.equal(alive(find(first, t.taskId).pid), false);
  }
  for (const t of [prod, b110]) {
    const x = find(r, t.taskId);
    assert.equal(x.state, TaskState.RUNNING, `${t.taskId}: ${x.message}`);
    assert.equal(x.pid, find(first, t.taskId).pid);
  }
  await c.poll(ballot, []);
});

function cpuNs(machine: string, taskId: string): number {
  return Number(readFileSync(`/sys/fs/cgroup/cpuacct/borg/${machine}/${taskId.replaceAll('/', '.')}/cpuacct.usage`, 'utf8'));
}

test('CPU short: a CPU-hungry non-prod task is throttled while prod keeps its share', async () => {
  const { m, c } = await machine('cpu', ['--cpu', '1', '--ram', '512MiB', '--sample-interval', '200ms']);
  const burn = (cpu: number) => spec('/bin/sh', ['-c', 'while :; do :; done'], { cpuMillis: cpu, killGraceMs: 100 });
  // Both ask 900m of a 1-core machine (the batch task was placed on reclaimed CPU). Equal shares alone would give
  // each half; prod was promised 900m, so batch is capped at the remaining 100m. The host's two cores are shared
  // with other work, so CPU is short here both because the machine is and because the host is (run-queue waits).
  const prod = task(0, burn(900), { priority: 200 });
  const batch = task(1, burn(900), { priority: 100 });
  await c.poll(ballot, [prod, batch]);
  const quotaFile = `/sys/fs/cgroup/cpu/borg/${m.name}/test.u.job.1/cpu.cfs_quota_us`;
  // The quota is at most the 100m prod was not promised, less whatever prod still waits for on this busy host.
  const quota = (): number => Number(readFileSync(quotaFile, 'utf8').trim());
  await waitFor('the batch task to be throttled', () => quota() > 0 && quota() <= 10_000, 10_000);
  const b = find(await c.poll(ballot, [prod, batch]), batch.taskId);
  assert.match(b.message, /cpu throttled to \d+m/);
  assert.equal(readFileSync(`/sys/fs/cgroup/cpu/borg/${m.name}/test.u.job.0/cpu.cfs_quota_us`, 'utf8').trim(), '-1', 'prod has no quota');
  // Measure over 2 s once throttled: prod gets most of what the machine gets, batch at most its 100m quota.
  const p0 = cpuNs(m.name, prod.taskId);
  const b0 = cpuNs(m.name, batch.taskId);
  const t0 = process.hrtime.bigint();
  await new Promise((res) => setTimeout(res, 2_000));
  const wallNs = Number(process.hrtime.bigint() - t0);
  const pMillis = ((cpuNs(m.name, prod.taskId) - p0) / wallNs) * 1000;
  const bMillis = ((cpuNs(m.name, batch.taskId) - b0) / wallNs) * 1000;
  assert.ok(bMillis <= 130, `batch held to its quota: ${bMillis.toFixed(0)}m`);
  assert.ok(pMillis / (pMillis + bMillis) >= 0.6, `prod's share holds: prod ${pMillis.toFixed(0)}m vs batch ${bMillis.toFixed(0)}m`);
  // Prod stops: the machine has headroom again and the quota is lifted.
  await c.poll(ballot, [batch]);
  await waitFor('the quota to be lifted', () => readFileSync(quotaFile, 'utf8').trim() === '-1', 10_000);
  await c.poll(ballot, []);
});
