// Masters and cells under failure, on real replica processes with simulated Borglets over mutual TLS:
// a deposed master's polls are refused by the Borglets (and it can stop nothing), kill -9 of the master
// restarts no task; two cells side by side on one host share nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Metadata } from '@grpc/grpc-js';
import { SimCell, simJob, eventually } from '../sim/borglets/sim_cell';
import { simulatedMachineName } from '../cells/simulated_machines';
import { loadIdentity, replicaName } from '../cells/identity';
import { clientCredentials } from '../cells/security/index';
import { BorgletClient, BorgMasterClient, CHANNEL_OPTIONS, invoke, TaskState, type Ballot } from '../proto/index';
import { BorgError } from '../model/errors';

const md = () => new Metadata();
const above = (a: Ballot, b: Ballot) => a.round > b.round || (a.round === b.round && a.replica > b.replica);

test('a deposed master is refused by the Borglets and restarts or stops nothing; kill -9 of the master restarts no task', { timeout: 150_000 }, async (t) => {
  const cell = await SimCell.start({ name: `fo${process.pid % 10000}`, machines: 4, pollInterval: '200ms', passInterval: '100ms' });
  t.after(() => cell.stop());
  const c = await cell.client('ubar');
  const name = cell.config.name;
  const machines = Array.from({ length: 4 }, (_, i) => simulatedMachineName(i));
  await cell.leader(c, (m) => invoke(m.createJob.bind(m), { requestId: 'fo-create', spec: simJob(name, 'svc', 8) }, md(), 10_000));
  await eventually('8 simulated tasks running', async () => ((await cell.counters()).running === 8 ? true : undefined), 30_000);
  const before = await cell.counters();

  // 1. Freeze the master (SIGSTOP: it cannot even notice), let the others elect a new one, then wake it up.
  const s1 = await cell.status();
  const old = s1.ballot as Ballot;
  const oldLeader = cell.replicas.get(s1.leaderReplica);
  assert.ok(oldLeader !== undefined);
  oldLeader.child.kill('SIGSTOP');
  const s2 = await cell.waitStatus((s) => s.leaderReplica !== 0 && s.leaderReplica !== s1.leaderReplica && s.ballot !== undefined && above(s.ballot, old), 30_000);
  const fresh = s2.ballot as Ballot;
  // Wake the old master, then wait until every machine has heard the new ballot (machines that the frozen replica
  // polled may only hear it once the shards are shared out again or the woken replica polls as a follower).
  oldLeader.child.kill('SIGCONT');
  for (const m of machines) await eventually(`${m} seeing the new ballot`, async () => (above((await cell.ballotSeen(m)) as Ballot, old) ? true : undefined), 20_000);

  // 2. Whatever the woken master sends with its old ballot is refused. Say it again, on the wire, with the old
  //    master's own certificate and an empty desired state (which would kill every task of an obeying machine).
  const creds = clientCredentials(await loadIdentity(cell.config, replicaName(s1.leaderReplica)));
  const borglet = new BorgletClient(cell.config.simulatedMachines?.address ?? '', creds, CHANNEL_OPTIONS);
  try {
    for (const m of machines) {
      const r = await invoke(borglet.poll.bind(borglet), { cell: name, machine: m, ballot: old, replica: old.replica, pollSeq: 1, authoritative: true, tasks: [] }, md(), 5000);
      assert.equal(r.refused, true, `${m} refused the deposed ballot ${old.round}.${old.replica}`);
      assert.ok(r.ballotSeen !== undefined && !above(old, r.ballotSeen), `${m} reports the newer ballot it has seen`);
    }
  } finally {
    borglet.close();
  }
  await new Promise((r) => setTimeout(r, 1500)); // the woken master's own link shard has had time to poll
  const afterDepose = await cell.counters();
  assert.ok(afterDepose.refused >= machines.length, `refusals counted (${afterDepose.refused})`);
  assert.equal(afterDepose.kills, before.kills, 'no task was stopped');
  assert.equal(afterDepose.starts, before.starts, 'no task was restarted');
  assert.equal(afterDepose.running, 8);

  // 3. kill -9 the current master: a new one takes writes; every simulated task keeps its run.
  const leader = cell.replicas.get(s2.leaderReplica);
  assert.ok(leader !== undefined);
  const killedAt = Date.now();
  await cell.kill(leader, 'SIGKILL');
  await cell.leader(c, (m) => invoke(m.createJob.bind(m), { requestId: 'fo-after', spec: simJob(name, 'after', 1) }, md(), 3000), 30_000);
  t.diagnostic(`kill -9 of replica ${s2.leaderReplica} (ballot ${fresh.round}.${fresh.replica}): a write accepted ${Date.now() - killedAt} ms later`);
  cell.startReplica(s2.leaderReplica);
  await eventually('9 simulated tasks running', async () => ((await cell.counters()).running === 9 ? true : undefined), 30_000);
  const end = await cell.counters();
  assert.equal(end.starts, before.starts + 1, 'only the new task started');
  assert.equal(end.kills, before.kills, 'no task was stopped');
  const svc = await cell.leader(c, (m) => invoke(m.getJob.bind(m), { user: 'ubar', job: 'svc' }, md(), 5000));
  assert.equal(svc.tasks.filter((x) => x.state === TaskState.RUNNING).length, 8);
});

test('two cells side by side share nothing: a job in one is invisible to the other; killing every master of one leaves the other untouched', { timeout: 150_000 }, async (t) => {
  const [a, b] = await Promise.all([
    SimCell.start({ name: `ca${process.pid % 10000}`, machines: 2, pollInterval: '200ms', passInterval: '100ms' }),
    SimCell.start({ name: `cb${process.pid % 10000}`, machines: 2, pollInterval: '200ms', passInterval: '100ms' }),
  ]);
  t.after(async () => {
    await Promise.all([a.stop(), b.stop()]);
  });
  const [ca, cb] = await Promise.all([a.client('ubar'), b.client('ubar')]);
  await a.leader(ca, (m) => invoke(m.createJob.bind(m), { requestId: 'two-a', spec: simJob(a.config.name, 'only-in-a', 3) }, md(), 10_000));
  await b.leader(cb, (m) => invoke(m.createJob.bind(m), { requestId: 'two-b', spec: simJob(b.config.name, 'only-in-b', 2) }, md(), 10_000));
  await eventually('tasks running in both cells', async () => ((await a.counters()).running === 3 && (await b.counters()).running === 2 ? true : undefined), 30_000);

  // Invisible: b has no such job, lists only its own, and a's credentials are not even accepted by b.
  await assert.rejects(
    b.leader(cb, (m) => invoke(m.getJob.bind(m), { user: 'ubar', job: 'only-in-a' }, md(), 5000)),
    (e: unknown) => e instanceof BorgError && e.code === 'not_found',
  );
  const listed = await b.leader(cb, (m) => invoke(m.listJobs.bind(m), { user: '', pageSize: 100, pageToken: '' }, md(), 5000));
  assert.deepEqual(listed.jobs.map((j) => j.spec?.name), ['only-in-b']);
  const bStatus = await b.status();
  const aClientOnB = new BorgMasterClient(
    b.config.replicas.find((r) => r.id === bStatus.leaderReplica)?.address ?? '',
    clientCredentials(await loadIdentity(a.config, 'ubar')),
    CHANNEL_OPTIONS,
  );
  try {
    await assert.rejects(invoke(aClientOnB.listJobs.bind(aClientOnB), { user: '', pageSize: 10, pageToken: '' }, md(), 3000), 'a certificate of cell a is refused by cell b');
  } finally {
    aClientOnB.close();
  }

  // Kill every master of a: b keeps taking writes and running its tasks, none restarted.
  const bBefore = await b.counters();
  await Promise.all([...a.replicas.values()].map((d) => a.kill(d, 'SIGKILL')));
  await b.leader(cb, (m) => invoke(m.createJob.bind(m), { requestId: 'two-b2', spec: simJob(b.config.name, 'b-after', 1) }, md(), 5000));
  await eventually('the new job of b running', async () => ((await b.counters()).running === 3 ? true : undefined), 30_000);
  const bAfter = await b.counters();
  assert.equal(bAfter.kills, bBefore.kills);
  assert.equal(bAfter.starts, bBefore.starts + 1);
  const s = await b.status();
  assert.equal(s.machinesUp, 2);
  assert.equal(s.machinesDown, 0);
  // a's simulated tasks run on, untouched by the loss of every master (B15 §3.3: tasks outlive the master).
  assert.equal((await a.counters()).running, 3);
});
