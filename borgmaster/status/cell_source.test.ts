// CellStateSource over a real CellState driven by real commands: filters, server-side sorts and paging, events
// newest first, why-pending (the scheduler's verdict, back-off, and the replica's own check), change notices.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GiB, MiB } from '../../model/resources';
import { EventType, MachineState } from '../../proto/index';
import { bodies } from '../state/index';
import { DrivenCell } from '../../test/support/status_cell';
import { CellStateSource, sortByKeys } from './cell_source';
import { BorgMetrics } from './metrics';
import type { ChangeNotice, ReplicaInfo, TaskQuery } from './source';

function replica(c: DrivenCell): () => ReplicaInfo {
  return () => ({ cell: c.cell, selfId: 1, leaderId: 1, authoritative: true, appliedIndex: c.state.appliedIndex, lagEntries: 0, replicas: [] });
}

async function smallCell(): Promise<{ c: DrivenCell; s: CellStateSource; metrics: BorgMetrics }> {
  const c = new DrivenCell('test');
  for (let i = 0; i < 4; i++) c.addMachine(`m${i}`, { cpuMillis: 4000, ramBytes: 16 * GiB });
  c.quota('alice', 200, { cpuMillis: 8000, ramBytes: 32 * GiB });
  c.quota('bob', 100, { cpuMillis: 100_000, ramBytes: 100 * GiB });
  c.createJob({ name: 'web', user: 'alice', taskCount: 5, task: { requirements: { cpuMillis: 1000, ramBytes: 1 * GiB, diskBytes: 0, ports: 0 } } });
  c.createJob({ name: 'batch', user: 'bob', priority: 100, taskCount: 3, task: { requirements: { cpuMillis: 500, ramBytes: 256 * MiB, diskBytes: 0, ports: 0 } } });
  c.createJob({ name: 'huge', user: 'bob', priority: 100, taskCount: 1, task: { requirements: { cpuMillis: 50_000, ramBytes: 1 * GiB, diskBytes: 0, ports: 0 } } });
  c.timeMs += 1000;
  await c.schedulePass();
  const metrics = new BorgMetrics();
  const s = new CellStateSource({ state: () => c.state, replica: replica(c), whyPending: (id) => c.whyPending.get(id), usage: c.usage, metrics });
  return { c, s, metrics };
}

const ALL: TaskQuery = { sort: 'id', dir: 'asc', offset: 0, limit: 100 };

test('summary counts machines, tasks by state, pending by band and allocation per band', async () => {
  const { c, s } = await smallCell();
  c.must(bodies.setMachineState('m3', MachineState.DRAINING));
  const sum = s.summary();
  assert.deepEqual(sum.machines, { UP: 3, DRAINING: 1, DOWN: 0 });
  assert.deepEqual(sum.tasks, { PENDING: 1, RUNNING: 8, DEAD: 0 });
  assert.equal(sum.pendingByBand.batch, 1);
  assert.equal(sum.pendingByBand.prod, 0);
  const prod = sum.bands.find((b) => b.band === 'prod');
  assert.equal(prod?.tasks, 5);
  assert.equal(prod?.limit.cpuMillis, 5000);
  assert.equal(sum.bands.find((b) => b.band === 'batch')?.limit.cpuMillis, 1500);
  assert.equal(sum.capacity.cpuMillis, 16_000);
});

test('health: the summary counts running tasks not reported healthy; the health filter finds either kind', async () => {
  const { c, s } = await smallCell();
  assert.equal(s.summary().unhealthy, 8, 'placed, no Borglet report yet');
  const web = (i: number) => c.state.lookupTask(`test/alice/web/${i}`);
  c.must(bodies.health([0, 1, 2].map((i) => ({ taskId: `test/alice/web/${i}`, machine: web(i)?.machine?.name ?? '', healthy: true }))));
  assert.equal(s.summary().unhealthy, 5);
  assert.deepEqual(s.tasks({ ...ALL, health: 'healthy' }).rows.map((r) => r.id), ['test/alice/web/0', 'test/alice/web/1', 'test/alice/web/2']);
  assert.deepEqual(s.tasks({ ...ALL, health: 'unhealthy', user: 'alice' }).rows.map((r) => [r.id, r.healthy]), [['test/alice/web/3', false], ['test/alice/web/4', false]]);
  assert.equal(s.tasks({ ...ALL, health: 'unhealthy' }).total, 5, 'the pending task is neither');
  assert.equal(s.job('alice', 'web')?.job.healthy, 3);
});

test('tasks: filters, every sort key, directions and paging', async () => {
  const { s } = await smallCell();
  const ids = s.tasks(ALL).rows.map((r) => r.id);
  assert.deepEqual(ids, ['test/alice/web/0', 'test/alice/web/1', 'test/alice/web/2', 'test/alice/web/3', 'test/alice/web/4', 'test/bob/batch/0', 'test/bob/batch/1', 'test/bob/batch/2', 'test/bob/huge/0']);
  assert.deepEqual(s.tasks({ ...ALL, dir: 'desc' }).rows[0]?.id, 'test/bob/huge/0');
  assert.deepEqual(s.tasks({ ...ALL, state: 'PENDING' }).rows.map((r) => r.id), ['test/bob/huge/0']);
  assert.equal(s.tasks({ ...ALL, user: 'bob' }).total, 4);
  assert.equal(s.tasks({ ...ALL, user: 'bob', job: 'batch' }).total, 3);
  assert.equal(s.tasks({ ...ALL, band: 'prod' }).total, 5);
  assert.equal(s.tasks({ ...ALL, q: 'web/3' }).total, 1);
  const m0 = s.tasks({ ...ALL, machine: 'm0' });
  assert.ok(m0.rows.every((r) => r.machine === 'm0'));
  const byCpu = s.tasks({ ...ALL, sort: 'cpu', dir: 'desc' }).rows.map((r) => r.limit.cpuMillis);
  assert.deepEqual(byCpu, [...byCpu].sort((a, b) => b - a));
  assert.equal(byCpu[0], 50_000);
  const byMachine = s.tasks({ ...ALL, sort: 'machine', dir: 'asc' }).rows.map((r) => r.machine);
  assert.equal(byMachine[0], '', 'unplaced first ascending');
  assert.deepEqual(byMachine.slice(1), [...byMachine.slice(1)].sort());
  for (const sort of ['state', 'priority', 'restarts', 'ram', 'time'] as const) {
    assert.equal(s.tasks({ ...ALL, sort }).total, 9, sort);
  }
  const byPriority = s.tasks({ ...ALL, sort: 'priority', dir: 'desc' }).rows;
  assert.equal(byPriority[0]?.id, 'test/alice/web/0', 'ties keep id order');
  const p2 = s.tasks({ ...ALL, offset: 4, limit: 4 });
  assert.deepEqual(p2.rows.map((r) => r.id), ['test/alice/web/4', 'test/bob/batch/0', 'test/bob/batch/1', 'test/bob/batch/2']);
  assert.equal(p2.total, 9);
  assert.equal(s.tasks({ ...ALL, offset: 100 }).rows.length, 0);
});

test('jobs: filters, sorts and paging', async () => {
  const { s } = await smallCell();
  assert.deepEqual(s.jobs({ sort: 'id', dir: 'asc', offset: 0, limit: 10 }).rows.map((j) => j.id), ['test/alice/web', 'test/bob/batch', 'test/bob/huge']);
  assert.deepEqual(s.jobs({ sort: 'pending', dir: 'desc', offset: 0, limit: 1 }).rows.map((j) => j.name), ['huge']);
  assert.deepEqual(s.jobs({ sort: 'tasks', dir: 'desc', offset: 0, limit: 10 }).rows.map((j) => j.name), ['web', 'batch', 'huge']);
  assert.equal(s.jobs({ sort: 'id', dir: 'asc', offset: 0, limit: 10, user: 'bob' }).total, 2);
  assert.equal(s.jobs({ sort: 'id', dir: 'asc', offset: 0, limit: 10, band: 'prod' }).total, 1);
  assert.equal(s.jobs({ sort: 'id', dir: 'asc', offset: 0, limit: 10, q: 'hu' }).rows[0]?.name, 'huge');
});

test('events are newest first and filter by user, job, machine, task and type', async () => {
  const { c, s } = await smallCell();
  const all = s.events({ offset: 0, limit: 1000 });
  assert.equal(all.total, c.state.events.size);
  for (let i = 1; i < all.rows.length; i++) assert.ok((all.rows[i - 1]?.logIndex ?? 0) >= (all.rows[i]?.logIndex ?? 0));
  assert.ok(s.events({ type: 'SCHEDULE', offset: 0, limit: 100 }).rows.every((e) => e.type === 'SCHEDULE'));
  assert.equal(s.events({ type: 'SCHEDULE', offset: 0, limit: 100 }).total, 8);
  assert.ok(s.events({ user: 'bob', offset: 0, limit: 100 }).rows.every((e) => e.user === 'bob'));
  assert.equal(s.events({ job: 'huge', offset: 0, limit: 100 }).total, 1);
  assert.ok(s.events({ machine: 'm1', offset: 0, limit: 100 }).rows.every((e) => e.machine === 'm1'));
  assert.deepEqual(s.events({ taskId: 'test/alice/web/0', offset: 0, limit: 100 }).rows.map((e) => e.type), ['SCHEDULE', 'SUBMIT']);
  // Paging newest first: page 2 continues where page 1 stopped.
  const p1 = s.events({ offset: 0, limit: 5 }).rows;
  const p2 = s.events({ offset: 5, limit: 5 }).rows;
  assert.deepEqual([...p1, ...p2], all.rows.slice(0, 10));
});

test('why pending: the scheduler verdict, then back-off, then the replica’s own check when no verdict is held', async () => {
  const { c, s } = await smallCell();
  assert.match(s.task('bob', 'huge', 0)?.whyPending ?? '', /^0\/4 machines feasible: 4 insufficient cpu/);
  assert.equal(s.task('alice', 'web', 0)?.whyPending, undefined, 'a running task has no verdict');
  // A follower holds no verdicts: it checks the machines itself.
  const follower = new CellStateSource({ state: () => c.state, replica: replica(c) });
  assert.match(follower.task('bob', 'huge', 0)?.whyPending ?? '', /own check .*0\/4 machines fit: 4 insufficient cpu$/);
  c.timeMs += 1000;
  c.report('test/alice/web/1', EventType.FAIL, 'exit 1', 1);
  assert.match(s.task('alice', 'web', 1)?.whyPending ?? '', /^in restart back-off for 1\.0s more/);
});

test('machine detail lists its tasks by priority and its recent events; unknown names are undefined', async () => {
  const { s } = await smallCell();
  const m = s.machines().find((x) => x.tasks > 0);
  assert.ok(m !== undefined);
  const d = s.machine(m.name);
  assert.equal(d?.tasks.length, m.tasks);
  const prios = d?.tasks.map((t) => t.priority) ?? [];
  assert.deepEqual(prios, [...prios].sort((a, b) => b - a));
  assert.ok((d?.events.length ?? 0) > 0 && d?.events.every((e) => e.machine === m.name));
  assert.equal(s.machine('nope'), undefined);
  assert.equal(s.job('alice', 'nope'), undefined);
  // The job page says what its restart policy does, defaults filled in.
  assert.equal(s.job('alice', 'web')?.spec.restartPolicy, 'ON_FAILURE, no restart limit, back-off 1s doubling to 1min, a 10min run forgives earlier failures');
  assert.equal(s.task('alice', 'web', 99), undefined);
  const hm = s.heatMap();
  assert.equal(hm.names.length, 4);
  assert.ok(hm.limit.every((v) => v >= 0 && v <= 255));
});

test('publish turns applied changes into notices naming what changed', async () => {
  const { c, s } = await smallCell();
  const got: ChangeNotice[] = [];
  s.subscribe((n) => got.push(n));
  c.timeMs += 1000;
  c.publishHub = false;
  const before = c.state.appliedIndex;
  const r = c.state.apply({ requestId: '', caller: '', timeMs: c.timeMs, body: bodies.transitions([{ taskId: 'test/alice/web/2', event: EventType.FINISH }]) }, before + 1);
  assert.ok(r.result.ok);
  s.publish(before + 1, [r.changes]);
  assert.equal(got.length, 1);
  assert.equal(got[0]?.all, false);
  assert.ok(got[0]?.tasks.includes('test/alice/web/2'));
  assert.ok(got[0]?.jobs.includes('test/alice/web'));
  assert.equal(got[0]?.events, 1);
});

test('logTail refuses clearly without a reader or a machine', async () => {
  const { s } = await smallCell();
  await assert.rejects(s.logTail('test/alice/web/0', 'stdout', 100), /no log reader/);
  const { c } = await smallCell();
  const withReader = new CellStateSource({ state: () => c.state, replica: replica(c), logs: async () => ({ text: 'hi', truncated: false }) });
  await assert.rejects(withReader.logTail('test/bob/huge/0', 'stdout', 100), /not running on a machine/);
  assert.deepEqual(await withReader.logTail('test/alice/web/0', 'stdout', 100), { text: 'hi', truncated: false });
});

test('the job page spells a restart policy with its own limits and durations', async () => {
  const { c, s } = await smallCell();
  c.createJob({ name: 'svc', user: 'alice', taskCount: 1, task: { restartPolicy: { kind: 1, maxRestarts: 5, backoffInitialMs: 500, backoffMaxMs: 90_000, resetAfterMs: 3_600_000 } } });
  c.createJob({ name: 'once', user: 'alice', taskCount: 1, task: { restartPolicy: { kind: 3, maxRestarts: 0, backoffInitialMs: 0, backoffMaxMs: 0, resetAfterMs: 0 } } });
  assert.equal(s.job('alice', 'svc')?.spec.restartPolicy, 'ALWAYS, at most 5 restarts in a row, back-off 500ms doubling to 90s, a 1h run forgives earlier failures');
  assert.equal(s.job('alice', 'once')?.spec.restartPolicy, 'NEVER');
});

test('sortByKeys is stable in both directions', () => {
  const items = ['a', 'b', 'c', 'd', 'e', 'f'];
  const keys = Float64Array.from([3, 1, 3, 2, 1, 1e12]);
  assert.deepEqual(sortByKeys(items, keys, 'asc'), ['b', 'e', 'd', 'a', 'c', 'f']);
  assert.deepEqual(sortByKeys(items, keys, 'desc'), ['f', 'a', 'c', 'd', 'b', 'e']);
  assert.deepEqual(sortByKeys([], new Float64Array(0), 'asc'), []);
  // Small integer keys take the direct path; mixed large keys the ranked one: same order either way.
  const small = Float64Array.from([2, 0, 2, 1]);
  assert.deepEqual(sortByKeys(['a', 'b', 'c', 'd'], small, 'desc'), ['a', 'c', 'd', 'b']);
  assert.deepEqual(sortByKeys(['a', 'b', 'c', 'd'], Float64Array.from([2.5, 0, 2.5, 1]), 'desc'), ['a', 'c', 'd', 'b']);
});

test('the summary is cached per applied index and usage version, pass latency read fresh', async () => {
  const { c, s, metrics } = await smallCell();
  const a = s.summary();
  assert.equal(s.summary().bands, a.bands, 'same index: the cached sums');
  metrics.observePass(0.25);
  assert.equal(s.summary().passes.lastSeconds, 0.25);
  c.usage.recordTask('test/alice/web/0', { cpuMillis: 123, ramBytes: 0, diskBytes: 0, ports: 0 }, c.timeMs);
  assert.equal(s.summary().bands.find((b) => b.band === 'prod')?.usage.cpuMillis, 123);
  c.must(bodies.setMachineState('m0', MachineState.DOWN));
  assert.equal(s.summary().machines.DOWN, 1);
});
