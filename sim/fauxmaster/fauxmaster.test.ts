// The Fauxmaster on small synthetic cells whose answers are known exactly: schedule counts, what-if drain, loss
// and job update (victims), stepping through arrivals and departures, and loading a real checkpoint.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GiB } from '../../model/resources';
import { bodies, CellState, command, jobSpec, machine, snapshot } from '../../borgmaster/state/index';
import { EventType, MachineState, PriorityBand, TaskState, type JobSpec } from '../../proto/index';
import type { Workload, WorkloadTask } from '../../benchmarks/workloads/types';
import { Fauxmaster, mainReason } from './fauxmaster';
import { whatIf } from './what_if';
import { CellReplay, loadWorkload, traceDepartures, workloadEvents, type ReplayEvent } from './replay';
import { cellName, jobsFor, workloadKey } from './workload_cell';
import { parseOptions, runFauxmaster } from './cli';

const CELL = 'test';
const PROD = 200;
const BATCH = 100;

type Body = Parameters<Fauxmaster['apply']>[0];

function cores(n: number, name: string): Body {
  return bodies.registerMachine(machine(name, { cpuMillis: n * 1000, ramBytes: 16 * GiB, diskBytes: 100 * GiB, ports: 100 }, { state: MachineState.UP, rack: `r-${name}` }));
}

function job(name: string, priority: number, tasks: number, cpuMillis = 1000, user = 'alice'): JobSpec {
  return jobSpec({ cell: CELL, user, name, priority, taskCount: tasks, task: { requirements: { cpuMillis, ramBytes: GiB, diskBytes: 0, ports: 0 } } });
}

/** quota: prod quota must fit the cell's capacity (the master refuses more), so each test says how many prod cores. */
const quota = (prodCores: number, user = 'alice'): Body[] => [
  bodies.setQuota(user, PriorityBand.PRODUCTION, { cpuMillis: prodCores * 1000, ramBytes: prodCores * GiB, diskBytes: 0, ports: 0 }),
  bodies.setQuota(user, PriorityBand.BEST_EFFORT, { cpuMillis: 1_000_000, ramBytes: 1024 * GiB, diskBytes: 0, ports: 0 }),
];

function cell(list: Body[], seed = 1): Fauxmaster {
  return Fauxmaster.fromCommands(CELL, list, { seed, startMs: 0 });
}

function running(f: Fauxmaster): Map<string, string> {
  const m = new Map<string, string>();
  for (const t of f.tasks()) if (t.state === TaskState.RUNNING) m.set(t.id, t.machine?.name ?? '');
  return m;
}

test('schedule places exactly what fits and explains the rest, for every seed and policy', async () => {
  // 4 machines x 4 cores; 10 prod + 10 batch tasks of 1 core: prod first, then 6 batch; 4 batch stay pending.
  for (const seed of [1, 2, 3]) {
    for (const policy of ['worst', 'best', 'hybrid'] as const) {
      const f = Fauxmaster.fromCommands(CELL, [cores(4, 'm0'), cores(4, 'm1'), cores(4, 'm2'), cores(4, 'm3'), ...quota(10), bodies.createJob(job('web', PROD, 10)), bodies.createJob(job('batch', BATCH, 10))], { seed, policy, startMs: 0 });
      const r = await f.schedule();
      assert.deepEqual([r.placed, r.running, r.pending, r.preempted, r.rejected], [16, 16, 4, 0, 0], `seed ${seed} ${policy}`);
      assert.deepEqual(r.whyPending, [{ reason: 'insufficient cpu', tasks: 4 }]);
      for (const t of f.tasks()) if (t.job.name === 'web') assert.equal(t.state, TaskState.RUNNING, 'prod goes first');
      f.state.checkInvariants();
      // Scheduling again changes nothing: the pending tasks still do not fit.
      const again = await f.schedule();
      assert.deepEqual([again.placed, again.running, again.pending], [0, 16, 4]);
    }
  }
  assert.equal(mainReason('0/4 machines feasible: 3 insufficient cpu, 1 insufficient ram'), 'insufficient cpu');
  assert.equal(mainReason('no machines'), 'no machines');
});

test('the same seed replays the same placements and the same what-if answer', async () => {
  const build = (): Fauxmaster =>
    Fauxmaster.fromCommands(CELL, [...['a', 'b', 'c', 'd', 'e'].map((m) => cores(4, m)), ...quota(8), bodies.createJob(job('web', PROD, 8)), bodies.createJob(job('batch', BATCH, 14)), bodies.createJob(job('free', 0, 6, 500))], { seed: 7, startMs: 0 });
  const one = build();
  const two = build();
  await one.schedule();
  await two.schedule();
  assert.deepEqual([...running(one)], [...running(two)]);
  const w1 = await whatIf(one, { kind: 'update', spec: job('web', PROD, 8, 2000) });
  const w2 = await whatIf(two, { kind: 'update', spec: job('web', PROD, 8, 2000) });
  assert.deepEqual(w1, w2);
  assert.ok(w1.preempted.length > 0, 'bigger prod tasks push lower priorities out');
});

test('what-if drain lists exactly the drained machine tasks, moved or pending, and leaves the cell alone', async () => {
  const f = cell([cores(4, 'm0'), cores(4, 'm1'), cores(4, 'm2'), ...quota(6), bodies.createJob(job('web', PROD, 6))]);
  await f.schedule();
  const before = running(f);
  const drained = [...before.values()][0] ?? '';
  const onIt = [...before].filter(([, m]) => m === drained).map(([id]) => id).sort();
  assert.ok(onIt.length > 0 && onIt.length <= 4, `${drained} holds tasks`);
  const r = await whatIf(f, { kind: 'drain', machines: [drained] });
  assert.deepEqual([...r.moved, ...r.pending].map((x) => x.taskId).sort(), onIt);
  assert.deepEqual(r.pending, [], 'the other two machines have room for them');
  assert.deepEqual(r.preempted, []);
  for (const m of r.moved) assert.ok(m.before === drained && m.after !== drained && m.after !== '', JSON.stringify(m));
  assert.deepEqual(running(f), before, 'the loaded cell is unchanged');
  assert.equal(f.state.machines.get(drained)?.state, MachineState.UP);

  // Losing two machines of a full cell: their tasks are displaced; prod pushes batch out where it can.
  const full = cell([cores(2, 'a'), cores(2, 'b'), cores(2, 'c'), ...quota(2), bodies.createJob(job('web', PROD, 2)), bodies.createJob(job('batch', BATCH, 4))]);
  await full.schedule();
  const was = running(full);
  const lost = [...was].filter(([, m]) => m === 'a' || m === 'b').map(([id]) => id).sort();
  const l = await whatIf(full, { kind: 'lose', machines: ['a', 'b'] });
  assert.deepEqual([...l.moved, ...l.pending].map((x) => x.taskId).sort(), lost);
  // Two cores are left: both prod tasks run there in the end (preempting batch if it sat on c).
  const prodPending = l.pending.filter((x) => x.priority === PROD);
  assert.deepEqual(prodPending, []);
  assert.equal(l.schedule.running, 2);
  for (const p of l.preempted) assert.equal(p.priority, BATCH, 'only batch is preempted');
  await assert.rejects(whatIf(full, { kind: 'drain', machines: ['nope'] }), /machine nope/);
});

test('what-if job update to a larger size lists exactly the victims (lowest priority first)', async () => {
  // Two machines of 4 cores, full: 2 prod (200), 2 low batch (100), 4 higher batch (110). Growing prod by two
  // tasks must evict exactly the two priority-100 tasks, wherever they sit: victims go lowest priority first.
  const f = cell([cores(4, 'm0'), cores(4, 'm1'), ...quota(6), bodies.createJob(job('web', PROD, 2)), bodies.createJob(job('low', BATCH, 2)), bodies.createJob(job('mid', 110, 4))]);
  const s = await f.schedule();
  assert.deepEqual([s.running, s.pending], [8, 0]);
  const lowIds = [`${CELL}/alice/low/0`, `${CELL}/alice/low/1`];
  const r = await whatIf(f, { kind: 'update', spec: job('web', PROD, 4) });
  assert.deepEqual(r.preempted.map((x) => x.taskId), lowIds);
  for (const p of r.preempted) assert.equal(p.after, '', 'no room anywhere: the victims wait');
  assert.deepEqual(r.pending.map((x) => x.taskId), [], 'the new prod tasks all run');
  assert.deepEqual(r.moved, []);
  assert.equal(r.schedule.running, 8);
  // The same update with larger tasks instead: each prod task needs 2 cores; the rolling update restarts them.
  const big = await whatIf(f, { kind: 'update', spec: job('web', PROD, 2, 2000) });
  assert.equal(big.preempted.length, 2, 'two more cores: two 1-core victims');
  for (const p of big.preempted) assert.ok(p.priority < PROD, 'prod never preempts prod');
  assert.deepEqual(big.updated.map((x) => x.taskId), [`${CELL}/alice/web/0`, `${CELL}/alice/web/1`]);
  assert.deepEqual(big.pending, []);
  // Growing by four: both low tasks and two mid ones go; every prod task runs.
  const more = await whatIf(f, { kind: 'update', spec: job('web', PROD, 6) });
  assert.equal(more.preempted.length, 4);
  assert.deepEqual(more.preempted.filter((x) => x.priority === BATCH).map((x) => x.taskId), lowIds);
  assert.deepEqual(more.pending, []);
  // Beyond what prod may hold in this cell: the master refuses the quota, and that is the answer.
  await assert.rejects(whatIf(f, { kind: 'update', spec: job('web', PROD, 12) }), /exceed its capacity/);
  assert.equal(running(f).size, 8, 'the loaded cell is unchanged');
});

function wtask(job: string, index: number, priority: number, cpuMillis: number, submitMs = 0): WorkloadTask {
  return { job, user: 'U/x+', index, priority, limit: { cpuMillis, ramBytes: GiB, diskBytes: 0, ports: 0 }, constraints: [], spread: { maxPerMachine: 0, maxPerRack: 0, maxPerPowerDomain: 0 }, submitMs };
}

function workload(initial: WorkloadTask[], later: WorkloadTask[] = []): Workload {
  const machines = ['m0', 'm1'].map((name) => ({ name, capacity: { cpuMillis: 2000, ramBytes: 8 * GiB, diskBytes: 0, ports: 10 }, attributes: {}, rack: 'r0', powerDomain: 'p0' }));
  return { name: 'synthetic', machines, initial, later, skipped: {}, notes: [] };
}

test('step replays arrivals and departures: departed tasks free room for pending and later ones', async () => {
  // 2 machines x 2 cores; 4 tasks run, 2 wait. At 10 s two finish, at 20 s a new task arrives, at 25 s one more
  // finishes; a pass every 5 s.
  const w = workload([0, 1, 2, 3, 4, 5].map((i) => wtask('a', i, BATCH, 1000)), [wtask('b', 0, BATCH, 1000, 20_000)]);
  const { faux, refs } = loadWorkload(CELL, w, { seed: 1 });
  const ends: ReplayEvent[] = [
    { timeMs: 10_000, kind: 'end', key: 'U/x+/a/0', event: EventType.FINISH },
    { timeMs: 10_000, kind: 'end', key: 'U/x+/a/1', event: EventType.FINISH },
    { timeMs: 25_000, kind: 'end', key: 'U/x+/a/2', event: EventType.KILL },
    { timeMs: 25_000, kind: 'end', key: 'U/x+/nope/0', event: EventType.KILL },
    // a/0 finished at 10 s; the trace submits it again at 32 s: new work, placed once a/3 leaves at 35 s.
    { timeMs: 32_000, kind: 'submit', task: wtask('a', 0, BATCH, 1000, 32_000) },
    { timeMs: 35_000, kind: 'end', key: 'U/x+/a/3', event: EventType.FINISH },
  ];
  const replay = new CellReplay(faux, refs, workloadEvents(w, ends), { passIntervalMs: 5_000, reclaim: undefined });
  await replay.schedule();
  assert.deepEqual(pick(replay.sample()), { running: 4, pending: 2, dead: 0 });
  const first = await replay.step(12_000, 1_000);
  assert.deepEqual(pick(first.samples.at(-1)), { running: 4, pending: 0, dead: 2 }, 'the two waiting tasks took the freed room');
  const a0 = faux.state.getTaskIfValid(replay.taskIdOf('U/x+/a/0') ?? '');
  assert.equal(a0?.state, TaskState.DEAD);
  const second = await replay.step(30_000, 5_000);
  const last = second.samples.at(-1);
  assert.deepEqual(pick(last), { running: 4, pending: 0, dead: 3 }, 'b/0 arrived at 20 s and ran once a/2 left at 25 s');
  assert.equal(last?.arrived, 1);
  assert.equal(last?.departed, 3);
  assert.equal(last?.placed, 7);
  assert.equal(last?.timeMs, 30_000);
  assert.deepEqual(second.skipped, { 'end of a task the cell does not have': 1 });
  assert.equal(faux.state.getTaskIfValid(replay.taskIdOf('U/x+/b/0') ?? '')?.state, TaskState.RUNNING);
  const third = await replay.step(40_000, 10_000);
  assert.deepEqual(pick(third.samples.at(-1)), { running: 4, pending: 0, dead: 4 });
  assert.equal(third.samples.at(-1)?.arrived, 2);
  const again = replay.taskIdOf('U/x+/a/0') ?? '';
  assert.notEqual(again, a0?.id, 'the resubmitted task is a new task of a new job');
  assert.equal(faux.state.getTaskIfValid(again)?.state, TaskState.RUNNING);
  assert.equal(a0?.state, TaskState.DEAD);
  await assert.rejects(replay.step(1_000, 1_000), /before the cell's time/);
  faux.state.checkInvariants();
});

function pick(s: { running: number; pending: number; dead: number } | undefined): { running: number; pending: number; dead: number } | undefined {
  return s === undefined ? undefined : { running: s.running, pending: s.pending, dead: s.dead };
}

test('step: reservations reported after 300 s let non-prod work fill reclaimed room', async () => {
  // One machine of 2 cores: two 1-core batch tasks run, a third waits. After 300 s the Borglet reports each at
  // 0.45 of its limit (450m): 900m reserved, 1100m free: the third fits.
  const w = workload([0, 1, 2].map((i) => wtask('a', i, BATCH, 1000)));
  w.machines = w.machines.slice(0, 1);
  const { faux, refs } = loadWorkload(CELL, w, { seed: 1 });
  // Scheduled before the replay exists: the replay still reports these tasks' reservations (from their start).
  await faux.schedule();
  const replay = new CellReplay(faux, refs, [], { passIntervalMs: 10_000, reclaim: { afterMs: 300_000, cpuFraction: 0.45, ramFraction: 0.7 } });
  assert.deepEqual(pick(replay.sample()), { running: 2, pending: 1, dead: 0 });
  await replay.step(290_000, 290_000);
  assert.deepEqual(pick(replay.sample()), { running: 2, pending: 1, dead: 0 });
  await replay.step(310_000, 310_000);
  assert.deepEqual(pick(replay.sample()), { running: 3, pending: 0, dead: 0 });
});

test('a checkpoint written from the real state machine loads, keeps its placements and schedules its pending tasks', async () => {
  const s = new CellState(CELL);
  let i = 0;
  const apply = (body: Body): void => {
    const r = s.apply(command(body, { timeMs: 1_000 + i }), ++i).result;
    assert.ok(r.ok && r.rejected.length === 0, r.errorMessage || r.rejected[0]?.reason);
  };
  for (const b of [cores(2, 'm0'), cores(2, 'm1'), ...quota(3), bodies.createJob(job('web', PROD, 3))]) apply(b);
  apply(bodies.transitions([{ taskId: `${CELL}/alice/web/0`, machine: 'm0' }, { taskId: `${CELL}/alice/web/1`, machine: 'm0' }]));
  apply(bodies.createJob(job('batch', BATCH, 3)));
  const dir = await mkdtemp(join(tmpdir(), 'faux-ckpt-'));
  try {
    const file = join(dir, 'cell.ckpt');
    await writeFile(file, snapshot(s));
    const f = await Fauxmaster.fromCheckpointFile(file, { seed: 1 });
    assert.equal(f.clock.nowMs(), s.timeMs);
    assert.deepEqual([...running(f)].sort(), [[`${CELL}/alice/web/0`, 'm0'], [`${CELL}/alice/web/1`, 'm0']]);
    const r = await f.schedule();
    // m1 has 2 cores: web/2 (prod) first, then one batch task; two batch tasks wait.
    assert.deepEqual([r.placed, r.running, r.pending], [2, 4, 2]);
    assert.equal(running(f).get(`${CELL}/alice/web/0`), 'm0', 'placements from the checkpoint are kept');
    f.state.checkInvariants();
    // The CLI reads the same file.
    const out: string[] = [];
    assert.equal(await runFauxmaster(['--checkpoint', file, 'schedule', '--seed', '1'], (l) => out.push(l)), 0);
    assert.match(out.join('\n'), /placed 2 .*4 running, 2 pending/s);
    // A corrupt or missing file is refused with the file's name.
    await writeFile(file, Buffer.from('not a checkpoint'));
    await assert.rejects(Fauxmaster.fromCheckpointFile(file, { seed: 1 }), (e: unknown) => e instanceof Error && e.message.includes('cell.ckpt'));
    await assert.rejects(Fauxmaster.fromCheckpointFile(join(dir, 'missing'), { seed: 1 }), /cannot read/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('trace events: departures after time 0 and resubmissions, named as the workload reader names tasks', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'faux-trace-'));
  try {
    await mkdir(join(dir, 'task_events'));
    const rows = [
      '0,,7,0,,0,USERHASHabcdefgh,0,9,0.0625,0.03,0.0001,1',
      '0,,7,1,,0,USERHASHabcdefgh,0,9,0.0625,0.03,0.0001,1',
      '0,,7,0,5,1,USERHASHabcdefgh,0,9,,,,',
      '700000000,,7,0,5,4,USERHASHabcdefgh,0,9,,,,',
      '710000000,,7,1,5,2,USERHASHabcdefgh,0,9,,,,',
      '720000000,,7,1,5,3,USERHASHabcdefgh,0,9,,,,',
      '800000000,,7,0,,0,USERHASHabcdefgh,0,9,0.125,0.03,0.0001,1',
      '900000000,,7,0,,5,USERHASHabcdefgh,0,9,,,,',
      '900000000,,7,x,,5,USERHASHabcdefgh,0,9,,,,',
      'short,row',
    ];
    await writeFile(join(dir, 'task_events', 'part-00000-of-00500.csv.gz'), gzipSync(rows.join('\n')));
    const { events, skipped } = await traceDepartures(dir);
    assert.deepEqual(
      events.map((e) => (e.kind === 'end' ? [e.timeMs, e.key, EventType[e.event]] : [e.timeMs, workloadKey(e.task), e.task.limit.cpuMillis, e.task.priority, e.task.spread.maxPerMachine])),
      [
        [700_000, 'uUSERHASHabcd/j7/0', 'FINISH'],
        [720_000, 'uUSERHASHabcd/j7/1', 'FAIL'],
        [800_000, 'uUSERHASHabcd/j7/0', 4000, 200, 1],
        [900_000, 'uUSERHASHabcd/j7/0', 'KILL'],
      ],
    );
    assert.deepEqual(skipped, { 'task_events: bad time, job or index': 1, 'task_events: wrong number of fields': 1 });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('workload names become valid cell names; jobs split by priority; per-task requests become overrides', () => {
  assert.equal(cellName('web', 'j'), 'web');
  assert.equal(cellName('U/x+', 'u'), `u${Buffer.from('U/x+').toString('hex')}`);
  assert.ok(cellName('x'.repeat(100).toUpperCase(), 'u').length <= 63);
  const jobs = jobsFor(CELL, [wtask('a', 3, BATCH, 1000), wtask('a', 1, BATCH, 500), wtask('a', 2, BATCH, 1000), wtask('a', 7, PROD, 1000)]);
  assert.deepEqual(jobs.specs.map((s) => [s.name, s.priority, s.taskCount, s.overrides.map((o) => [o.index, o.spec?.requirements?.cpuMillis])]), [
    ['a-p100', BATCH, 3, [[0, 500]]],
    ['a-p200', PROD, 1, []],
  ]);
  assert.deepEqual(jobs.refs.get('U/x+/a/3'), { user: cellName('U/x+', 'u'), job: 'a-p100', index: 2 });
});

test('the CLI: options are checked by name; schedule and what-if on a JSONL workload', async () => {
  assert.throws(() => parseOptions(['schedule']), /--workload or --checkpoint/);
  assert.throws(() => parseOptions(['--workload', 'x.jsonl', 'fly']), /operation/);
  assert.throws(() => parseOptions(['--workload', 'x.jsonl', 'step']), /--until/);
  assert.throws(() => parseOptions(['--workload', 'x.jsonl', 'step', '--until', 'soon']), /--until/);
  assert.deepEqual(parseOptions(['--workload', 'x.jsonl', 'step', '--until', '90s', '--pass-interval', '500ms']).op, { kind: 'step', untilMs: 90_000, passIntervalMs: 500, sampleEveryMs: 60_000 });
  const dir = await mkdtemp(join(tmpdir(), 'faux-cli-'));
  try {
    const file = join(dir, 'w.jsonl');
    const lines = [
      ...['m0', 'm1'].map((name) => ({ kind: 'machine', name, capacity: { cpuMillis: 2000, ramBytes: 8 * GiB, diskBytes: 0, ports: 10 } })),
      ...[0, 1, 2, 3].map((index) => ({ kind: 'task', job: 'web', user: 'alice', index, priority: PROD, limit: { cpuMillis: 1000, ramBytes: GiB }, durationMs: 30_000 })),
      { kind: 'task', job: 'extra', user: 'alice', index: 0, priority: BATCH, limit: { cpuMillis: 1000, ramBytes: GiB }, durationMs: 30_000 },
      { kind: 'task', job: 'late', user: 'bob', index: 0, priority: BATCH, limit: { cpuMillis: 1000, ramBytes: GiB }, submitMs: 40_000 },
    ];
    await writeFile(file, lines.map((l) => JSON.stringify(l)).join('\n'));
    const out: string[] = [];
    assert.equal(await runFauxmaster(['--workload', file, 'schedule'], (l) => out.push(l)), 0);
    assert.match(out.join('\n'), /placed 4 .*4 running, 1 pending/s);
    assert.match(out.join('\n'), /1 +insufficient cpu/);
    const drain: string[] = [];
    assert.equal(await runFauxmaster(['--workload', file, 'what-if', 'drain', 'm0', '--json'], (l) => drain.push(l)), 0);
    const r = (JSON.parse(drain.join('\n')) as { whatIf: { moved: unknown[]; pending: { taskId: string }[]; preempted: unknown[]; notes: string[] } }).whatIf;
    // m0 held two web tasks; the cell has no room for them elsewhere, so the master's drain evicts one (web's
    // max_tasks_down is 1), which stays pending, and the other stays on m0.
    assert.deepEqual([r.pending.length, r.moved.length, r.preempted.length], [1, 0, 0]);
    assert.match(r.notes.join('\n'), /1 task\(s\) stay on the draining machines/);
    const job = join(dir, 'job.jsonl');
    await writeFile(job, JSON.stringify({ kind: 'task', job: 'web', user: 'alice', index: 0, priority: PROD, limit: { cpuMillis: 2000, ramBytes: GiB } }));
    const upd: string[] = [];
    assert.equal(await runFauxmaster(['--workload', file, 'what-if', 'update', job], (l) => upd.push(l)), 0);
    assert.match(upd.join('\n'), /update job alice\/web/);
    // An update from BCL: a new command for web's four tasks: the rolling update restarts each in place of the
    // last (max_tasks_down 1), and the batch task pending all along gets none of the room freed on the way.
    const bcl = join(dir, 'web.bcl');
    await writeFile(bcl, 'job web = {\n  user = "alice"\n  priority = 200\n  replicas = 4\n  command = "/bin/false"\n  requirements = { cpu = 1000m, ram = 1GiB }\n}\n');
    const viaBcl: string[] = [];
    assert.equal(await runFauxmaster(['--workload', file, 'what-if', 'update', bcl, '--json'], (l) => viaBcl.push(l)), 0);
    const b = (JSON.parse(viaBcl.join('\n')) as { whatIf: { updated: { taskId: string }[]; preempted: unknown[]; pending: unknown[]; schedule: { running: number; pending: number } } }).whatIf;
    assert.deepEqual(b.updated.map((x) => x.taskId), [0, 1, 2, 3].map((i) => `faux/alice/web/${i}`));
    assert.deepEqual([b.preempted.length, b.pending.length, b.schedule.running, b.schedule.pending], [0, 0, 4, 1]);
    await writeFile(bcl, 'job web = {\n  user = "alice"\n  priority = 200\n  replicas = \n}\n');
    assert.equal(await runFauxmaster(['--workload', file, 'what-if', 'update', bcl], () => {}), 2, 'a BCL error is bad input');
    const step: string[] = [];
    assert.equal(await runFauxmaster(['--workload', file, 'step', '--until', '60s', '--every', '20s', '--json'], (l) => step.push(l)), 0);
    const sr = JSON.parse(step.join('\n')) as { samples: { timeMs: number; running: number; pending: number; dead: number; departed: number; arrived: number }[] };
    const end = sr.samples.at(-1);
    // Everything submitted at 0 ends at 30 s (extra, still pending then, leaves without running); late arrives at 40 s.
    assert.equal(end?.timeMs, 60_000);
    assert.equal(end?.arrived, 1);
    assert.equal(end?.departed, 5);
    assert.deepEqual([end?.running, end?.pending, end?.dead], [1, 0, 5]);
    assert.equal(await runFauxmaster(['--workload', join(dir, 'missing.jsonl'), 'schedule'], () => {}), 2);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
