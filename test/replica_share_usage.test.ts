// ShareUsage between Borgmaster replicas (borgmaster/replica.ts): on real replica processes over mutual TLS, every
// replica's status page holds the usage samples of machines and tasks that another replica's link shard polls; only replicas may
// share, a share over the bound is refused with the field named, and samples that are not usage, or name no
// machine or task of the cell, are dropped without harm to the replica.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Metadata } from '@grpc/grpc-js';
import { BorgError } from '../model/errors';
import { SimCell, simJob, eventually } from '../sim/borglets/sim_cell';
import { loadIdentity, replicaName } from '../cells/identity';
import { clientCredentials } from '../cells/security/index';
import { CHANNEL_OPTIONS, ReplicaInternalClient, invoke, TaskState, type ShareUsageRequest } from '../proto/index';

const md = () => new Metadata();

interface HeatMap {
  names: string[];
}

async function heatMap(statusAddress: string): Promise<HeatMap> {
  return (await (await fetch(`http://${statusAddress}/machines.json`)).json()) as HeatMap;
}

test('replicas share usage samples: every page covers every machine and task; only replicas share, and bad samples are dropped', { timeout: 120_000 }, async (t) => {
  const cell = await SimCell.start({ name: `shu${process.pid % 10000}`, machines: 6, pollInterval: '200ms' });
  t.after(() => cell.stop());
  const c = await cell.client('ubar');
  await cell.waitStatus((s) => s.machinesUp === 6, 30_000);
  await cell.leader(c, (m) => invoke(m.createJob.bind(m), { requestId: 'shu-load', spec: simJob(cell.config.name, 'load', 6) }, md(), 10_000));
  await eventually('6 tasks RUNNING', async () => {
    const r = await cell.leader(c, (m) => invoke(m.getJob.bind(m), { user: 'ubar', job: 'load' }, md(), 5000));
    return r.tasks.filter((x) => x.state === TaskState.RUNNING).length === 6 ? true : undefined;
  }, 30_000, 50);

  // Each replica's link shard polls a share of the six machines; each replica's page has samples of all six and
  // of every running task.
  for (const r of cell.config.replicas) {
    await eventually(`replica ${r.id}'s page covers every machine and task`, async () => {
      const page = await (await fetch(`http://${r.statusAddress}/`)).text();
      return /the latest samples of 6 of 6 running tasks, on 6 of 6 machines up/.test(page) ? true : undefined;
    }, 30_000, 100);
  }

  const target = cell.config.replicas[0];
  assert.ok(target !== undefined);
  const asReplica2 = new ReplicaInternalClient(target.address, clientCredentials(await loadIdentity(cell.config, replicaName(2))), CHANNEL_OPTIONS);
  const asUser = new ReplicaInternalClient(target.address, clientCredentials(await loadIdentity(cell.config, 'ubar')), CHANNEL_OPTIONS);
  t.after(() => {
    asReplica2.close();
    asUser.close();
  });
  const share = (client: ReplicaInternalClient, req: ShareUsageRequest) => invoke(client.shareUsage.bind(client), req, md(), 5000);
  const refusal = async (p: Promise<unknown>) => p.then(() => assert.fail('accepted'), (e: unknown) => (e instanceof BorgError ? e : assert.fail(String(e))));
  const usage = (cpuMillis: number) => ({ cpuMillis, ramBytes: 1 << 20, diskBytes: 0, ports: 0 });
  const machine = (await heatMap(target.statusAddress)).names[0] as string;
  const later = Date.now() + 3_600_000;

  const user = await refusal(share(asUser, { machines: [{ machine, usage: usage(1), sampledMs: later }], tasks: [] }));
  assert.deepEqual([user.code, user.message], ['permission_denied', 'ubar is not a replica of this cell']);
  const tooMany = await refusal(share(asReplica2, { machines: [], tasks: Array.from({ length: 1001 }, (_, i) => ({ taskId: `${cell.config.name}/ubar/load/${i}`, usage: usage(1), sampledMs: 1 })) }));
  assert.deepEqual([tooMany.code, tooMany.message], ['invalid_argument', 'machines, tasks: at most 1000 samples at once, got 1001']);

  // Nonsense is dropped sample by sample: negative usage, machines and tasks the cell does not have, no usage.
  await share(asReplica2, {
    machines: [
      { machine, usage: { ...usage(7), cpuMillis: -5 }, sampledMs: later },
      { machine: 'no-such-machine', usage: usage(7), sampledMs: later },
      { machine, usage: undefined, sampledMs: later },
    ],
    tasks: [
      { taskId: 'not a task id', usage: usage(7), sampledMs: later },
      { taskId: `${cell.config.name}/ubar/load/99`, usage: usage(7), sampledMs: later },
    ],
  });
  const page = await (await fetch(`http://${target.statusAddress}/machine/${machine}`)).text();
  assert.doesNotMatch(page, /-5m/);
  assert.match(await (await fetch(`http://${target.statusAddress}/healthz`)).text(), /ok/);

  // A well-formed sample newer than the replica's own is what its page shows.
  await share(asReplica2, { machines: [{ machine, usage: usage(4321), sampledMs: later }], tasks: [] });
  assert.match(await (await fetch(`http://${target.statusAddress}/machine/${machine}`)).text(), /4\.321 cores/);
});
