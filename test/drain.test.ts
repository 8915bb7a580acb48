// DrainMachine on real daemons (3 replica processes, the scheduler process, simulated Borglets, mutual TLS): the
// elected master evicts the drained machine's tasks no faster than link.rescheduleTasksPerSecond and never more of
// a job down at once than its max_tasks_down; the scheduler places them elsewhere; the machine ends up empty and
// its Borglet runs none of them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Metadata } from '@grpc/grpc-js';
import { SimCell, simJob, eventually } from '../sim/borglets/sim_cell';
import { EventType, invoke, TaskState } from '../proto/index';
import { runBorg } from './support/cli';

const md = () => new Metadata();

test('a drained machine is emptied at the bounded rate, within each job\'s max_tasks_down', { timeout: 150_000 }, async (t) => {
  const rate = 4;
  const cell = await SimCell.start({ name: `drain${process.pid % 10000}`, machines: 3, pollInterval: '200ms', missedPollsBeforeDown: 5, rescheduleTasksPerSecond: rate, passInterval: '100ms' });
  t.after(() => cell.stop());
  const c = await cell.client('ubar');
  const name = cell.config.name;
  await cell.waitStatus((s) => s.machinesUp === 3, 30_000);
  const maxDown = 2;
  await cell.leader(c, (m) => invoke(m.createJob.bind(m), { requestId: 'drain-create', spec: { ...simJob(name, 'web', 12), updatePolicy: { maxTasksDown: maxDown } } }, md(), 10_000));
  const running = await eventually('12 tasks RUNNING on the Borglets', async () => {
    const r = await cell.leader(c, (m) => invoke(m.getJob.bind(m), { user: 'ubar', job: 'web' }, md(), 5000));
    return r.tasks.filter((x) => x.state === TaskState.RUNNING).length === 12 && (await cell.counters()).running === 12 ? r.tasks : undefined;
  });
  const perMachine = new Map<string, string[]>();
  for (const x of running) perMachine.set(x.machine, [...(perMachine.get(x.machine) ?? []), x.id]);
  const [victim, victimTasks] = [...perMachine.entries()].sort((a, b) => b[1].length - a[1].length)[0] as [string, string[]];
  assert.ok(victimTasks.length >= 4, `the busiest machine runs at least 4 tasks (${victimTasks.length})`);

  // `borg drain --wait` (the real CLI) drains it and reports progress until the machine is empty.
  const cli = runBorg(['drain', victim, '--wait', '--user', 'admin', '--cell', cell.cellFile], { env: { BORG_USER: undefined }, timeoutMs: 90_000 });
  // While the drain runs, never more than max_tasks_down of the job are off a machine.
  let worstDown = 0;
  await eventually(
    'the drained machine empty and every task running elsewhere',
    async () => {
      const r = await cell.leader(c, (m) => invoke(m.getJob.bind(m), { user: 'ubar', job: 'web' }, md(), 5000));
      const down = r.tasks.filter((x) => x.state !== TaskState.RUNNING).length;
      worstDown = Math.max(worstDown, down);
      return down === 0 && r.tasks.every((x) => x.machine !== victim) ? true : undefined;
    },
    60_000,
    25,
  );
  assert.ok(worstDown <= maxDown, `at most ${maxDown} tasks of the job down at once (saw ${worstDown})`);
  const r = await cli;
  assert.equal(r.code, 0, `borg drain: ${r.stderr}`);
  // The count is read after the drain commits, and the master may already have evicted the first task(s) by then.
  const first = new RegExp(`^machine ${victim} is DRAINING \\(was UP\\) at log index \\d+; (\\d+) task\\(s\\) still on it\n`).exec(r.stdout);
  assert.ok(first !== null, `first line: ${r.stdout}`);
  assert.ok(Number(first[1]) <= victimTasks.length, `at most the ${victimTasks.length} tasks it ran: ${first[0]}`);
  assert.match(r.stdout, /task\(s\) left on .* after \d+ s\n/, 'progress lines while it drains');
  assert.match(r.stdout, new RegExp(`machine ${victim} is empty\n$`));
  const ev = await cell.leader(c, (m) => invoke(m.listEvents.bind(m), { user: '', job: 'web', machine: victim, taskId: '', types: [EventType.EVICT], sinceMs: 0, pageSize: 0, pageToken: '' }, md(), 5000));
  const evictions = ev.events.filter((e) => e.message.startsWith('machine is draining'));
  assert.deepEqual(evictions.map((e) => e.taskId).sort(), [...victimTasks].sort(), 'exactly the drained machine\'s tasks were evicted, once each');
  const times = evictions.map((e) => e.timeMs).sort((a, b) => a - b);
  const spreadMs = (times[times.length - 1] as number) - (times[0] as number);
  const boundMs = ((victimTasks.length - 1) / rate) * 1000;
  assert.ok(spreadMs + 150 >= boundMs, `${victimTasks.length} evictions over ${spreadMs} ms; at ${rate}/s that takes at least ${boundMs} ms`);
  await eventually('the drained machine\'s Borglet runs none of them', async () => ((await cell.tasksOn(victim)).length === 0 && (await cell.counters()).running === 12 ? true : undefined), 20_000);
  const st = await cell.status();
  assert.equal(st.machinesDraining, 1, 'the machine stays DRAINING: nothing new is placed there');
  t.diagnostic(`drained ${victim}: ${victimTasks.length} tasks moved over ${spreadMs} ms (bound ${boundMs.toFixed(0)} ms at ${rate}/s), at most ${worstDown} down at once`);
});
