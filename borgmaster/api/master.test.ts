// The Master's write path without a network: a log that never chooses a proposal makes the call fail with
// UNAVAILABLE after the propose timeout (the client retries with the same request id), and nothing changes; the
// why-pending verdicts a replica holds are dropped as their tasks leave PENDING.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Unavailable } from '../../model/errors';
import { VirtualClock } from '../../model/clock';
import { GiB, MiB } from '../../model/resources';
import { TaskState } from '../../proto/index';
import { bodies, bootstrapCommands, command, encodeCommand, jobSpec } from '../state/index';
import { Master } from './master';
import { InProcessLogForHandlerTests } from './test_log_for_handler_tests';

test('a proposal that is never chosen fails with UNAVAILABLE after the timeout and changes nothing', async () => {
  const log = new InProcessLogForHandlerTests();
  const master = new Master({ cell: 'test', replicaId: 1, log: log.view(1), clock: new VirtualClock(1000), admins: [], proposeTimeoutMs: 100 });
  log.attach(1, master, '127.0.0.1:1');
  log.stalled = true;
  const who = { commonName: 'alice', roles: ['user' as const] };
  const spec = jobSpec({ cell: 'test', user: 'alice', priority: 0, task: { requirements: { cpuMillis: 100, ramBytes: 64 * MiB, diskBytes: 0, ports: 0 } } });
  await assert.rejects(master.createJob({ requestId: 'r1', spec }, who), (e: unknown) => e instanceof Unavailable && /not committed within 100ms; retry with the same request id/.test(e.message));
  assert.equal(master.state.jobs.size, 0);
  log.stalled = false;
  const ok = await master.createJob({ requestId: 'r1', spec }, who);
  assert.equal(ok.job?.pending, 1);
});

test('a why-pending verdict is forgotten once its task is placed or killed, on every replica', async () => {
  const log = new InProcessLogForHandlerTests();
  const masters = [1, 2].map((id) => new Master({ cell: 'test', replicaId: id, log: log.view(id), clock: new VirtualClock(1000), admins: [] }));
  masters.forEach((m, i) => log.attach(i + 1, m, `127.0.0.1:${i + 1}`));
  const machines = [{ name: 'm0', address: '127.0.0.1:7300', capacity: { cpuMillis: 4000, ramBytes: 16 * GiB, diskBytes: 0, ports: 10 }, attributes: {}, rack: 'r0', powerDomain: 'p0', portBase: 20_000 }];
  log.appendDirect(bootstrapCommands({ machines, quotas: [] }, 1000).map(encodeCommand));
  const who = { commonName: 'alice', roles: ['user' as const] };
  const spec = jobSpec({ cell: 'test', user: 'alice', priority: 0, taskCount: 2, task: { requirements: { cpuMillis: 100, ramBytes: 64 * MiB, diskBytes: 0, ports: 0 } } });
  const leader = masters[0] as Master;
  await leader.createJob({ requestId: 'r1', spec }, who);
  const [t0, t1] = ['test/alice/web/0', 'test/alice/web/1'];
  for (const m of masters) for (const id of [t0, t1]) m.whyPending.set(id as string, '0/1 machines feasible: 1 insufficient cpu');
  log.appendDirect([encodeCommand(command(bodies.transitions([{ taskId: t0 as string, machine: 'm0', specVersion: 1 }])))]);
  for (const m of masters) {
    assert.equal(m.state.getTaskIfValid(t0 as string)?.state, TaskState.RUNNING);
    assert.equal(m.whyPending.get(t0 as string), undefined, `replica ${m.options.replicaId}: the placed task's verdict is gone`);
    assert.equal(m.whyPending.get(t1 as string), '0/1 machines feasible: 1 insufficient cpu', 'the pending one keeps its verdict');
  }
  await leader.killJob({ requestId: 'r2', user: 'alice', job: 'web' }, who);
  for (const m of masters) assert.equal(m.whyPending.size, 0, `replica ${m.options.replicaId}: nothing left after the kill`);
});

test('ListMachines adds the usage samples the replica holds (soft state) and each machine\'s last poll; GetTask and ListTasks a running task\'s usage', async () => {
  const log = new InProcessLogForHandlerTests();
  const heard = new Map([['m0', { usage: { cpuMillis: 250, ramBytes: 3 * GiB, diskBytes: 0, ports: 1 }, sampledMs: 123_456 }]]);
  const taskUsage = new Map([
    ['test/alice/web/0', { cpuMillis: 40, ramBytes: 20 * MiB, diskBytes: 0, ports: 0 }],
    ['test/alice/web/1', { cpuMillis: 99, ramBytes: 99 * MiB, diskBytes: 0, ports: 0 }],
  ]);
  const master = new Master({ cell: 'test', replicaId: 1, log: log.view(1), clock: new VirtualClock(1000), admins: [], usage: { machineSample: (name) => heard.get(name), task: (id) => taskUsage.get(id) } });
  log.attach(1, master, '127.0.0.1:1');
  const machine = (name: string) => ({ name, address: '127.0.0.1:7300', capacity: { cpuMillis: 4000, ramBytes: 16 * GiB, diskBytes: 0, ports: 10 }, attributes: {}, rack: 'r0', powerDomain: 'p0', portBase: 20_000 });
  log.appendDirect(bootstrapCommands({ machines: [machine('m0'), machine('m1')], quotas: [] }, 1000).map(encodeCommand));
  const byName = new Map(master.listMachines({ state: 0, pageSize: 0, pageToken: '' }).machines.map((m) => [m.name, m]));
  assert.deepEqual([byName.get('m0')?.usage, byName.get('m0')?.lastPollMs], [{ cpuMillis: 250, ramBytes: 3 * GiB, diskBytes: 0, ports: 1 }, 123_456]);
  assert.deepEqual([byName.get('m1')?.usage, byName.get('m1')?.lastPollMs], [undefined, 0], 'never sampled: unknown');

  const spec = jobSpec({ cell: 'test', user: 'alice', priority: 0, taskCount: 2, task: { requirements: { cpuMillis: 100, ramBytes: 64 * MiB, diskBytes: 0, ports: 0 } } });
  await master.createJob({ requestId: 'r1', spec }, { commonName: 'alice', roles: ['user'] });
  log.appendDirect([encodeCommand(command(bodies.transitions([{ taskId: 'test/alice/web/0', machine: 'm0', specVersion: 1 }])))]);
  assert.deepEqual(master.getTask({ taskId: 'test/alice/web/0' }).task?.usage, taskUsage.get('test/alice/web/0'));
  const listed = master.listTasks({ user: 'alice', job: 'web', machine: '', state: 0, pageSize: 0, pageToken: '' }).tasks;
  assert.deepEqual(listed.map((t) => [t.index, t.usage?.cpuMillis]), [[0, 40], [1, undefined]], 'a pending task has no usage, whatever sample is held');
});
