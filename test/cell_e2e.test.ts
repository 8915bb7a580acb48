// The whole cell, for real: `borg up` (3 replicas, scheduler, 2 Borglets under cgroups, Redis), a job submitted
// over mutual TLS, scheduled, running as real processes, published in BNS; the elected master killed with
// kill -9 while it runs; then the job killed and the cell stopped with nothing left behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { startLocalCell, call, md, type LocalCell } from './support/local_cell';
import { TaskState, type JobSpec } from '../proto/index';
import { BnsResolver } from '../borgmaster/bns/resolver';
import { MiB } from '../model/resources';

function spec(cell: string, name: string, marker: string, tasks: number): JobSpec {
  return {
    name,
    user: 'ubar',
    cell,
    priority: 200,
    taskCount: tasks,
    task: {
      command: '/bin/sh',
      args: ["-c", `echo started on $BORG_PORT; sleep 1000 & wait # ${marker}`],
      env: {},
      workingDir: '',
      requirements: { cpuMillis: 100, ramBytes: 32 * MiB, diskBytes: 0, ports: 1 },
      constraints: [],
      healthCheck: undefined,
      restartPolicy: undefined,
      latencySensitive: false,
      killGraceMs: 1000,
    },
    overrides: [],
    updatePolicy: { maxTasksDown: 1 },
    spread: { maxPerMachine: 1, maxPerRack: 0, maxPerPowerDomain: 0 },
    annotations: {},
  };
}

function pidsOf(marker: string): number[] {
  const ps = execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' });
  return ps
    .split('\n')
    .map((l) => l.trim())
    // The task's own shell (the Borglet's unshare/setpriv wrappers above it carry the same arguments).
    .filter((l) => l.endsWith(`# ${marker}`) && /^\d+ \/bin\/sh -c /.test(l))
    .map((l) => Number(l.split(/\s+/)[0]))
    .sort((a, b) => a - b);
}

async function eventually<T>(what: string, f: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

test('a real cell: submit, run under cgroups, BNS, kill -9 the master, kill the job, stop cleanly', { timeout: 240_000 }, async (t) => {
  const name = `e2e${process.pid % 10000}`;
  let cell: LocalCell | undefined;
  t.after(async () => {
    await cell?.stop();
  });
  cell = await startLocalCell({ name, machines: 2 });
  const c = await cell.client('ubar');
  const marker = `borg-e2e-marker-${name}`;

  await c.leader((m) => call(m.createJob.bind(m), { requestId: 'e2e-create-1', spec: spec(name, 'sleeper', marker, 2) }, md(), 10_000));
  const running = await eventually('2 tasks RUNNING', async () => {
    const r = await c.leader((m) => call(m.getJob.bind(m), { user: 'ubar', job: 'sleeper' }, md(), 5000));
    return r.tasks.filter((x) => x.state === TaskState.RUNNING).length === 2 ? r.tasks : undefined;
  });
  assert.deepEqual(new Set(running.map((x) => x.machine)).size, 2, 'spread: at most one task per machine');
  for (const task of running) {
    const base = task.machine.endsWith('-m0') ? 30000 : 30100;
    assert.ok(task.ports[0]! >= base && task.ports[0]! < base + 50, `task ${task.id} got port ${task.ports[0]} from its machine's range`);
  }
  // Two equal looks 200 ms apart: while a task starts, its shell's child (`sleep 1000 &` before it execs) carries the
  // same arguments for a moment, so a single look may count it.
  const pids = await eventually('2 task processes', async () => {
    const first = pidsOf(marker);
    await new Promise((r) => setTimeout(r, 200));
    return first.length === 2 && pidsOf(marker).join() === first.join() ? first : undefined;
  });

  // BNS: the job's name resolves to both tasks' endpoints.
  const redis = cell.config.bns.redis;
  assert.ok(redis);
  const resolver = new BnsResolver(redis);
  t.after(() => resolver.close());
  const resolved = await eventually('BNS entries', async () => {
    const r = await resolver.resolve(`sleeper.ubar.${name}.borg`);
    return r.endpoints.length === 2 ? r : undefined;
  }, 60_000).catch((e: unknown) => {
    throw new Error(`${String(e)}; replica logs:\n${cell?.logs() ?? ''}`);
  });
  assert.deepEqual(resolved.endpoints.map((e) => e.endpoint.ports[0]).sort(), running.map((x) => x.ports[0]).sort());

  // kill -9 the elected master: a new one takes over, accepts writes, and no task restarts.
  const status = await c.leader((m) => call(m.cellStatus.bind(m), {}, md(), 5000));
  const leaderPids = cell.daemonPids(`--replica ${status.leaderReplica}`);
  assert.equal(leaderPids.length, 1, `one process for replica ${status.leaderReplica}`);
  const killedAt = Date.now();
  process.kill(leaderPids[0]!, 'SIGKILL');
  await eventually('a new master', async () => {
    for (const r of cell!.config.replicas) {
      if (r.id === status.leaderReplica) continue;
      const s = await call(c.replica(r.id).cellStatus.bind(c.replica(r.id)), {}, md(), 1000).catch(() => undefined);
      if (s && s.leaderReplica !== 0 && s.leaderReplica !== status.leaderReplica) return s;
    }
    return undefined;
  });
  await c.leader((m) => call(m.createJob.bind(m), { requestId: 'e2e-create-2', spec: spec(name, 'after', `${marker}-after`, 1) }, md(), 10_000));
  t.diagnostic(`new master accepted a write ${Date.now() - killedAt} ms after kill -9`);
  await eventually('the job created after failover to run', async () => (pidsOf(`${marker}-after`).length === 1 ? true : undefined));
  assert.deepEqual(pidsOf(marker), pids, 'the running tasks kept their pids across the failover');

  // Kill the job: its processes go away.
  await c.leader((m) => call(m.killJob.bind(m), { requestId: 'e2e-kill-1', user: 'ubar', job: 'sleeper' }, md(), 10_000));
  await eventually('the job\'s processes to exit', async () => (pidsOf(marker).length === 0 ? true : undefined));

  // Stop the whole cell: no daemon, task or cgroup left.
  const machines = cell.config.machines.map((m) => m.name);
  const cellFile = cell.cellFile;
  await cell.stop();
  cell = undefined;
  const left = execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' }).split('\n').filter((l) => l.includes(cellFile) || l.includes(marker));
  assert.deepEqual(left, [], 'no process of the cell is left');
  for (const m of machines) assert.equal(existsSync(`/sys/fs/cgroup/memory/borg/${m}`), false, `cgroup of ${m} removed`);
});
