// Link shards' pure parts: who polls whom, what a full report turns into, machine health and the LOST rate.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { shardOwner } from './assignment';
import { diffReport } from './report_diff';
import { desiredTasks, desiredVersion, desiredVersionCached } from './desired';
import { MachineHealth, TokenBucket, Dedup } from './health';
import { CellState } from '../state/cell_state';
import { restore, snapshot } from '../state/index';
import { bodies, command, jobSpec, machine } from '../state/builders';
import { encodeCommand } from '../state/index';
import { checkForwarded } from './forward';
import { EventType, MachineState, PriorityBand, RestartPolicy_Kind, TaskState, type TaskStatus } from '../../proto/index';
import { GiB, MiB, resources } from '../../model/resources';
import { VirtualClock } from '../../model/clock';

test('shardOwner: deterministic, spread evenly, reshuffled by a new election round', () => {
  const replicas = [1, 2, 3];
  const names = Array.from({ length: 3000 }, (_, i) => `m${i}`);
  const owners = names.map((n) => shardOwner(n, replicas, 7));
  assert.deepEqual(owners, names.map((n) => shardOwner(n, replicas, 7)), 'every replica computes the same owner');
  for (const r of replicas) {
    const share = owners.filter((o) => o === r).length;
    assert.ok(share > 850 && share < 1150, `replica ${r} polls ${share} of 3000`);
  }
  const moved = names.filter((n, i) => shardOwner(n, replicas, 8) !== owners[i]).length;
  assert.ok(moved > 1500 && moved < 2500, `a new round reshuffles about 2/3 (${moved})`);
  assert.equal(shardOwner('m1', [5], 1), 5);
});

/** cellWithRunning: one machine m0 with job alice/web (2 tasks) running on it. */
function cellWithRunning() {
  const s = new CellState('test');
  let i = 0;
  const run = (b: Parameters<typeof command>[0]) => {
    const r = s.apply(command(b, { timeMs: 1000 }), ++i).result;
    assert.ok(r.ok, r.errorMessage);
  };
  run(bodies.registerMachine(machine('m0', {}, { address: '127.0.0.1:1' })));
  run(bodies.setQuota('alice', PriorityBand.PRODUCTION, { cpuMillis: 4000, ramBytes: 16 * GiB, diskBytes: 100 * GiB, ports: 100 }));
  run(bodies.createJob(jobSpec({ taskCount: 2, task: { requirements: resources({ cpuMillis: 500, ramBytes: 512 * MiB }) } })));
  run(bodies.transitions([{ taskId: 'test/alice/web/0', machine: 'm0', specVersion: 1 }, { taskId: 'test/alice/web/1', machine: 'm0', specVersion: 1 }]));
  const m = s.machines.get('m0');
  assert.ok(m && m.tasks.size === 2, 'both tasks run on m0');
  return { s, m };
}

const status = (taskId: string, over: Partial<TaskStatus>): TaskStatus => ({
  taskId, specVersion: 1, state: TaskState.RUNNING, lastEvent: EventType.SCHEDULE, pid: 10, exitCode: 0, signal: '', oomKilled: false,
  restarts: 0, startTimeMs: 0, endTimeMs: 0, limit: undefined, reservation: undefined, usage: undefined, cpuThrottledMs: 0,
  message: '', priority: 200, healthy: true, ...over,
});

test('desiredTasks lists every task the state runs on the machine, with BNS names', () => {
  const { m } = cellWithRunning();
  assert.deepEqual(desiredTasks(m, 'test').map((d) => [d.taskId, d.bnsName, d.specVersion]), [
    ['test/alice/web/0', '0.web.alice.test.borg', 1],
    ['test/alice/web/1', '1.web.alice.test.borg', 1],
  ]);
});

test('diffReport: only differences become commands', () => {
  const { m } = cellWithRunning();
  const sent = new Set(['test/alice/web/0', 'test/alice/web/1']);
  const limit = resources({ cpuMillis: 500, ramBytes: 512 * MiB });
  const rows: [string, TaskStatus[], string[], number][] = [
    ['both running, reservation = limit: nothing', [status('test/alice/web/0', { reservation: limit }), status('test/alice/web/1', { reservation: limit })], [], 0],
    ['finished', [status('test/alice/web/0', { state: TaskState.DEAD, lastEvent: EventType.FINISH }), status('test/alice/web/1', {})], ['test/alice/web/0 FINISH'], 0],
    ['OOM is a failure', [status('test/alice/web/0', { state: TaskState.DEAD, lastEvent: EventType.KILL, oomKilled: true, exitCode: 137 }), status('test/alice/web/1', {})], ['test/alice/web/0 FAIL'], 0],
    ['killed by the machine (pressure) is an eviction', [status('test/alice/web/0', { state: TaskState.DEAD, lastEvent: EventType.KILL }), status('test/alice/web/1', {})], ['test/alice/web/0 EVICT'], 0],
    ['failed with exit code', [status('test/alice/web/0', { state: TaskState.DEAD, lastEvent: EventType.FAIL, exitCode: 3 }), status('test/alice/web/1', {})], ['test/alice/web/0 FAIL'], 0],
    ['report of an older spec version is ignored', [status('test/alice/web/0', { state: TaskState.DEAD, specVersion: 0 }), status('test/alice/web/1', {})], [], 0],
    ['sent but unknown to the Borglet: LOST', [status('test/alice/web/1', {})], ['test/alice/web/0 LOST'], 0],
    ['reservation dropped by a quantum or more: update', [status('test/alice/web/0', { reservation: resources({ cpuMillis: 100, ramBytes: 100 * MiB }) }), status('test/alice/web/1', { reservation: limit })], [], 1],
    ['reservation within the same quantum as the limit: nothing', [status('test/alice/web/0', { reservation: resources({ cpuMillis: 499, ramBytes: 512 * MiB - 1 }) }), status('test/alice/web/1', {})], [], 0],
    ['restarted in place by the Borglet: RESTART', [status('test/alice/web/0', { restarts: 2, message: 'health check GET :20000/ failed 3 times' }), status('test/alice/web/1', {})], ['test/alice/web/0 RESTART'], 0],
    ['restarted in place, then given up: RESTART before FAIL', [status('test/alice/web/0', { state: TaskState.DEAD, lastEvent: EventType.FAIL, exitCode: 3, restarts: 2 }), status('test/alice/web/1', {})], ['test/alice/web/0 RESTART', 'test/alice/web/0 FAIL'], 0],
  ];
  for (const [name, statuses, wantTransitions, wantReservations] of rows) {
    const d = diffReport(m, statuses, sent);
    assert.deepEqual(d.transitions.map((t) => `${t.taskId} ${EventType[t.event]}`), wantTransitions, name);
    assert.equal(d.reservations.length, wantReservations, name);
    for (const t of d.transitions) assert.equal(t.machine, 'm0', 'transitions name the reporting machine');
  }
  assert.deepEqual(diffReport(m, [], new Set()).transitions, [], 'not sent and not reported: the poll did not cover it');
  const restart = diffReport(m, [status('test/alice/web/0', { restarts: 2, message: 'exit 1; restarting in 1000ms' })], new Set()).transitions[0];
  assert.deepEqual([restart?.restarts, restart?.message, restart?.specVersion], [2, 'restarted on the machine, 2 time(s) since placed (exit 1; restarting in 1000ms)', 1], 'a RESTART carries the Borglet\'s count and why');
  // An end carries the Borglet's streak for the restart policy; an older Borglet's report (no streak) none.
  const streakOf = (over: Partial<TaskStatus>) => diffReport(m, [status('test/alice/web/0', { state: TaskState.DEAD, lastEvent: EventType.FAIL, exitCode: 3, restarts: 4, ...over })], new Set()).transitions.map((t) => `${EventType[t.event]} ${t.streak} ${t.streakReset}`);
  assert.deepEqual(streakOf({ streak: 2, streakReset: true }), ['RESTART undefined undefined', 'FAIL 2 true']);
  assert.deepEqual(streakOf({ streak: 5, streakReset: false }), ['RESTART undefined undefined', 'FAIL 5 false']);
  assert.deepEqual(streakOf({}), ['RESTART undefined undefined', 'FAIL undefined undefined']);
  assert.deepEqual(streakOf({ lastEvent: EventType.KILL, streak: 1 }), ['RESTART undefined undefined', 'EVICT undefined undefined'], 'an eviction is not the task\'s failure');
});

test('diffReport: health that differs from the state\'s, judged after a restart in the same report', () => {
  const { s, m } = cellWithRunning();
  let i = 10;
  const apply = (d: ReturnType<typeof diffReport>) => {
    if (d.transitions.length > 0) s.apply(command(bodies.transitions(d.transitions), { timeMs: 2000 + i }), ++i);
    if (d.health.length > 0) s.apply(command(bodies.health(d.health.map((h) => h.update)), { timeMs: 2000 + i }), ++i);
  };
  const health = (over: Partial<TaskStatus>) => diffReport(m, [status('test/alice/web/0', over)], new Set()).health.map((h) => `${h.update.healthy} since ${h.sinceMs}`);
  const task = () => s.lookupTask('test/alice/web/0');
  assert.deepEqual(health({ healthy: false }), [], 'placed, not yet healthy: the state says so already');
  assert.deepEqual(health({ healthy: true }), ['true since 1000']);
  apply(diffReport(m, [status('test/alice/web/0', { healthy: true })], new Set()));
  assert.equal(task()?.healthy, true);
  assert.deepEqual(health({ healthy: true }), [], 'no change: nothing');
  assert.deepEqual(health({ healthy: false }), [`false since ${task()?.healthTimeMs}`]);
  assert.deepEqual(health({ healthy: false, restarts: 1 }), [], 'a restart makes the state unhealthy by itself');
  assert.deepEqual(health({ healthy: true, restarts: 1 }), [`true since ${task()?.healthTimeMs}`], 'the new run is healthy already: said after the RESTART');
  apply(diffReport(m, [status('test/alice/web/0', { healthy: true, restarts: 1 })], new Set()));
  assert.deepEqual([task()?.restarts, task()?.healthy], [1, true], 'RESTART then health, in that order');
  assert.deepEqual(health({ healthy: false, state: TaskState.DEAD, lastEvent: EventType.FAIL, restarts: 1 }), [], 'an end says it all');
  assert.deepEqual(health({ healthy: false, specVersion: 0, restarts: 1 }), [], 'a report about another version: nothing');
});

test('RESTART: the state counts the Borglet\'s restarts in place once, with an event, and keeps the count in checkpoints', () => {
  const { s } = cellWithRunning();
  let i = 10;
  const report = (restarts: number, over: { machine?: string; specVersion?: number } = {}) =>
    s.apply(command(bodies.transitions([{ taskId: 'test/alice/web/0', event: EventType.RESTART, machine: over.machine ?? 'm0', specVersion: over.specVersion ?? 1, restarts, message: `restarted (${restarts})` }]), { timeMs: 2000 }), ++i);
  const task = () => s.lookupTask('test/alice/web/0');
  const restartEvents = () => s.events.toArray().filter((e) => e.taskId === 'test/alice/web/0' && e.type === EventType.RESTART).map((e) => e.message);
  report(2);
  assert.deepEqual([task()?.restarts, task()?.state, restartEvents()], [2, TaskState.RUNNING, ['restarted (2)']], 'two restarts, one event, still running');
  report(2);
  assert.deepEqual([task()?.restarts, restartEvents().length], [2, 1], 'the same count again (a poll before the command applied) counts nothing');
  report(3);
  assert.deepEqual([task()?.restarts, restartEvents().length], [3, 2]);
  report(1);
  assert.equal(task()?.restarts, 3, 'a Borglet that started over counts from its new count');
  report(2);
  assert.equal(task()?.restarts, 4);
  const stale = report(9, { machine: 'm1' }).result;
  assert.match(stale.rejected[0]?.reason ?? '', /stale report/);
  const older = report(9, { specVersion: 7 }).result;
  assert.match(older.rejected[0]?.reason ?? '', /stale report/);
  const bad = s.apply(command(bodies.transitions([{ taskId: 'test/alice/web/0', event: EventType.FAIL, machine: 'm0', specVersion: 1, restarts: 1 }]), { timeMs: 2000 }), ++i).result;
  assert.deepEqual([bad.ok, bad.errorMessage], [false, 'transitions[0].restarts: only RESTART carries a restart count']);
  const restored = restore(snapshot(s));
  assert.deepEqual([restored.lookupTask('test/alice/web/0')?.restarts, restored.lookupTask('test/alice/web/0')?.machineRestarts], [4, 2]);
});

test('MachineHealth: DOWN after N consecutive misses; a success resets', () => {
  const h = new MachineHealth(3);
  assert.deepEqual([h.missed('a'), h.missed('a')], [false, false]);
  h.ok('a');
  assert.deepEqual([h.missed('a'), h.missed('a'), h.missed('a')], [false, false, true]);
});

test('TokenBucket bounds the LOST rate; Dedup holds a key for a while', () => {
  const clock = new VirtualClock(0);
  const b = new TokenBucket(clock, 10, 10);
  assert.equal(b.take(25), 10, 'burst');
  assert.equal(b.take(5), 0, 'empty');
  clock.advance(500);
  assert.equal(b.take(25), 5, 'refilled at 10/s');
  clock.advance(60_000);
  assert.equal(b.take(100), 10, 'never above the burst');
  const d = new Dedup(clock, 1000);
  assert.equal(d.fresh('k'), true);
  assert.equal(d.fresh('k'), false);
  clock.advance(1000);
  assert.equal(d.fresh('k'), true);
  // Expired keys go: a burst of keys (every task starting in a cell that fills up) is not held for ever.
  for (let i = 0; i < 5000; i++) d.fresh(`burst/${i}`);
  assert.equal(d.size, 5001);
  clock.advance(1000);
  d.fresh('later');
  assert.equal(d.size, 1, 'one hold later only the newest key is left');
});

test('desiredVersion: cached per machine until its generation or the desired epoch moves; always equal to a fresh hash', () => {
  const { s, m } = cellWithRunning();
  let i = 100;
  const run = (b: Parameters<typeof command>[0]) => {
    const r = s.apply(command(b, { timeMs: 2000 }), ++i).result;
    assert.ok(r.ok, r.errorMessage);
  };
  const seen = new Set<number>();
  const check = (what: string) => {
    const v = desiredVersionCached(m, s.desiredEpoch);
    assert.equal(v, desiredVersion(m), what);
    assert.equal(desiredVersionCached(m, s.desiredEpoch), v, `${what}: a second read hits the cache`);
    assert.ok(v > 0 && Number.isSafeInteger(v), what);
    seen.add(v);
  };
  check('two tasks running');
  run(bodies.updateJob(jobSpec({ taskCount: 2, priority: 250, task: { requirements: resources({ cpuMillis: 500, ramBytes: 512 * MiB }) } })));
  check('priority changed in place');
  run(bodies.transitions([{ taskId: 'test/alice/web/1', event: EventType.FINISH, machine: 'm0', specVersion: 2 }]));
  check('one task finished');
  run(bodies.killJob('alice', 'web'));
  check('job killed');
  assert.equal(seen.size, 4, 'every change gave a new version');
});

test('max_restarts is one budget: restarts in place count, so a task its Borglet gave up on is not restarted again', () => {
  const rows: [string, number, TaskState][] = [
    ['the Borglet restarted it twice (max_restarts 2), then reported the failure: dead', 2, TaskState.DEAD],
    ['no restart in place (the first failure): restarted by the master', 0, TaskState.PENDING],
  ];
  for (const [name, restarts, want] of rows) {
    const s = new CellState('test');
    let i = 0;
    const run = (b: Parameters<typeof command>[0]) => s.apply(command(b, { timeMs: 1000 }), ++i).result;
    run(bodies.registerMachine(machine('m0', {}, { address: '127.0.0.1:1' })));
    run(bodies.setQuota('alice', PriorityBand.PRODUCTION, { cpuMillis: 4000, ramBytes: 16 * GiB, diskBytes: 100 * GiB, ports: 100 }));
    const restartPolicy = { kind: RestartPolicy_Kind.ON_FAILURE, maxRestarts: 2, backoffInitialMs: 100, backoffMaxMs: 100, resetAfterMs: 0 };
    run(bodies.createJob(jobSpec({ taskCount: 1, task: { requirements: resources({ cpuMillis: 500, ramBytes: 512 * MiB }), restartPolicy } })));
    run(bodies.transitions([{ taskId: 'test/alice/web/0', machine: 'm0', specVersion: 1 }]));
    const m = s.machines.get('m0');
    assert.ok(m);
    const d = diffReport(m, [status('test/alice/web/0', { state: TaskState.DEAD, lastEvent: EventType.FAIL, exitCode: 3, restarts })], new Set());
    assert.ok(run(bodies.transitions(d.transitions)).ok);
    const t = s.lookupTask('test/alice/web/0');
    assert.deepEqual([t?.state, t?.restarts], [want, restarts + (want === TaskState.PENDING ? 1 : 0)], name);
  }
});

test('checkForwarded: a follower may forward only what link shards propose (health included)', () => {
  const enc = (b: Parameters<typeof command>[0]) => encodeCommand(command(b));
  checkForwarded([
    enc(bodies.transitions([{ taskId: 'test/alice/web/0', event: EventType.FAIL, machine: 'm0' }])),
    enc(bodies.reservations([{ taskId: 'test/alice/web/0', machine: 'm0', reservation: resources({ cpuMillis: 1, ramBytes: 1 }) }])),
    enc(bodies.health([{ taskId: 'test/alice/web/0', machine: 'm0', healthy: true }])),
    enc(bodies.setMachineState('m0', MachineState.DOWN, 'missed polls')),
  ]);
  assert.throws(() => checkForwarded([enc(bodies.health([])), enc(bodies.createJob(jobSpec({})))]), /commands\[1\]: only link-shard commands/);
  assert.throws(() => checkForwarded([new Uint8Array([0xff, 0xff])]), /commands\[0\]/);
  assert.throws(() => checkForwarded([enc(bodies.setQuota('alice', PriorityBand.PRODUCTION, resources({ cpuMillis: 1 })))]), /only link-shard commands/);
});
