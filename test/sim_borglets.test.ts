// Simulated Borglets under real daemons (3 replica processes, the scheduler process, one sim/borglets process,
// mutual TLS over loopback): a job is scheduled, runs on simulated machines and is killed; a machine partitioned
// away is marked DOWN, its tasks are replaced no faster than link.rescheduleTasksPerSecond, and when it returns
// the duplicates it still runs are killed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Metadata } from '@grpc/grpc-js';
import { SimCell, simJob, eventually, type MasterClient } from '../sim/borglets/sim_cell';
import { invoke, TaskState, type Task } from '../proto/index';

const md = () => new Metadata();

async function tasksOf(cell: SimCell, c: Map<number, MasterClient>, user: string, job: string): Promise<Task[]> {
  return (await cell.leader(c, (m) => invoke(m.getJob.bind(m), { user, job }, md(), 5000))).tasks;
}

test('simulated Borglets: scheduled, running, killed; a partitioned machine goes DOWN, its tasks move at the bounded rate, its duplicates die on return', { timeout: 150_000 }, async (t) => {
  const rate = 3;
  const cell = await SimCell.start({ name: `simb${process.pid % 10000}`, machines: 3, pollInterval: '200ms', missedPollsBeforeDown: 3, rescheduleTasksPerSecond: rate, passInterval: '100ms' });
  t.after(() => cell.stop());
  const c = await cell.client('ubar');
  const name = cell.config.name;
  await cell.waitStatus((s) => s.machinesUp === 3, 30_000);

  // Submit -> scheduled -> running on simulated Borglets.
  await cell.leader(c, (m) => invoke(m.createJob.bind(m), { requestId: 'sim-create-1', spec: simJob(name, 'web', 12) }, md(), 10_000));
  const running = await eventually('12 tasks RUNNING', async () => {
    const ts = await tasksOf(cell, c, 'ubar', 'web');
    return ts.filter((x) => x.state === TaskState.RUNNING).length === 12 ? ts : undefined;
  });
  // The master counts a task RUNNING once it is placed; the machine starts it on its next poll.
  await eventually('the simulated Borglets running the 12 tasks', async () => ((await cell.counters()).running === 12 ? true : undefined), 10_000);

  // Partition away the machine with the most tasks.
  const perMachine = new Map<string, string[]>();
  for (const x of running) perMachine.set(x.machine, [...(perMachine.get(x.machine) ?? []), x.id]);
  const [victim, victimTasks] = [...perMachine.entries()].sort((a, b) => b[1].length - a[1].length)[0] as [string, string[]];
  assert.ok(victimTasks.length >= 2, `the busiest machine has at least 2 tasks (${[...perMachine].map(([m, ts]) => `${m}:${ts.length}`).join(' ')})`);
  assert.deepEqual((await cell.tasksOn(victim)).sort(), [...victimTasks].sort());
  await cell.sim(`partition ${victim}`, `partition ${victim} ok`);
  const partitionedAt = Date.now();

  await cell.waitStatus((s) => s.machinesDown === 1, 20_000);
  // Watch every victim task until it runs elsewhere, noting when each one left the partitioned machine.
  const movedAt = new Map<string, number>();
  await eventually(
    'every task of the partitioned machine running elsewhere',
    async () => {
      const ts = await tasksOf(cell, c, 'ubar', 'web');
      const now = Date.now();
      for (const x of ts) if (victimTasks.includes(x.id) && x.machine !== victim && !movedAt.has(x.id)) movedAt.set(x.id, now);
      const ok = ts.filter((x) => victimTasks.includes(x.id) && x.state === TaskState.RUNNING && x.machine !== victim).length === victimTasks.length;
      return ok ? true : undefined;
    },
    60_000,
    50,
  );
  const times = [...movedAt.values()].sort((a, b) => a - b);
  // The cell replaces at most `rate` tasks a second (one link shard polls the machine, at a third of it) after an
  // initial burst of at most ceil(rate / replicas) tokens.
  const burst = Math.ceil(rate / 3);
  const spreadMs = (times[times.length - 1] as number) - (times[0] as number);
  const boundMs = ((victimTasks.length - burst) / rate) * 1000;
  assert.ok(spreadMs + 300 >= boundMs, `${victimTasks.length} tasks replaced within ${spreadMs} ms; at ${rate}/s after a burst of ${burst} that takes at least ${boundMs} ms`);
  t.diagnostic(`partition: ${victim} with ${victimTasks.length} tasks; DOWN and replaced within ${Date.now() - partitionedAt} ms; replacements spread over ${spreadMs} ms (bound ${boundMs.toFixed(0)} ms)`);

  // The partitioned machine still runs its old copies: duplicates. When it answers again they are killed.
  assert.deepEqual((await cell.tasksOn(victim)).sort(), [...victimTasks].sort(), 'nobody could tell the partitioned machine to stop its tasks');
  const killsBefore = (await cell.counters()).kills;
  await cell.sim(`heal ${victim}`, `heal ${victim} ok`);
  await cell.waitStatus((s) => s.machinesDown === 0, 20_000);
  await eventually('the duplicates killed on return', async () => ((await cell.tasksOn(victim)).every((id) => !victimTasks.includes(id)) ? true : undefined), 20_000);
  assert.ok((await cell.counters()).kills >= killsBefore + victimTasks.length);
  const after = await tasksOf(cell, c, 'ubar', 'web');
  assert.equal(after.filter((x) => x.state === TaskState.RUNNING).length, 12, 'one copy of every task runs');

  // Kill the job: every simulated task stops.
  await cell.leader(c, (m) => invoke(m.killJob.bind(m), { requestId: 'sim-kill-1', user: 'ubar', job: 'web' }, md(), 10_000));
  await eventually('no simulated task left', async () => ((await cell.counters()).running === 0 ? true : undefined), 20_000);
});
