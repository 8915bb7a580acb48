// Unit tests of the simulated Borglets' core: ballots, desired-state matching, synthetic runs, bad input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VirtualClock } from '../../model/clock';
import { SeededRng } from '../../model/rng';
import { InvalidArgument, Unavailable } from '../../model/errors';
import { EventType, TaskState } from '../../model/task_state';
import { GiB } from '../../model/resources';
import { simulatedMachineConfigs } from '../../cells/simulated_machines';
import type { Ballot, DesiredTask, PollRequest } from '../../proto/index';
import { SimBorglets } from './sim_borglets';
import { checkSeed, desired } from './check';

function setup() {
  const clock = new VirtualClock(1_000);
  const machines = simulatedMachineConfigs({ count: 3, address: '127.0.0.1:1', capacity: { cpuMillis: 2000, ramBytes: 4 * GiB, diskBytes: 0, ports: 10 }, machinesPerRack: 2, racksPerPowerDomain: 1, attributes: { os: 'linux' } });
  return { clock, sim: new SimBorglets('c', machines, clock, new SeededRng(7)) };
}

const req = (machine: string, ballot: Ballot, tasks: DesiredTask[], authoritative = true): PollRequest => ({ cell: 'c', machine, ballot, replica: ballot.replica, pollSeq: 0, authoritative, tasks });

test('generated machines: names, racks and power domains follow the config', () => {
  const ms = simulatedMachineConfigs({ count: 5, address: 'h:1', capacity: { cpuMillis: 1, ramBytes: 1, diskBytes: 0, ports: 0 }, machinesPerRack: 2, racksPerPowerDomain: 2, attributes: {} });
  assert.deepEqual(ms.map((m) => [m.name, m.rack, m.powerDomain, m.address]), [
    ['sim-00000', 'sim-rack-0', 'sim-power-0', 'h:1'],
    ['sim-00001', 'sim-rack-0', 'sim-power-0', 'h:1'],
    ['sim-00002', 'sim-rack-1', 'sim-power-0', 'h:1'],
    ['sim-00003', 'sim-rack-1', 'sim-power-0', 'h:1'],
    ['sim-00004', 'sim-rack-2', 'sim-power-1', 'h:1'],
  ]);
});

test('an older ballot is refused and changes nothing; the newest is obeyed', () => {
  const { sim } = setup();
  const a = sim.poll(req('sim-00000', { round: 2, replica: 1 }, [desired('c/u/j/0', 1)]));
  assert.equal(a.refused, false);
  assert.equal(a.tasks[0]?.state, TaskState.RUNNING);
  const pid = a.tasks[0]?.pid;
  const old = sim.poll(req('sim-00000', { round: 1, replica: 3 }, []));
  assert.equal(old.refused, true);
  assert.deepEqual(old.ballotSeen, { round: 2, replica: 1 });
  assert.deepEqual(sim.tasksOn('sim-00000'), ['c/u/j/0'], 'the deposed master could not kill the task');
  const again = sim.poll(req('sim-00000', { round: 2, replica: 1 }, [desired('c/u/j/0', 1)]));
  assert.equal(again.tasks[0]?.pid, pid, 'the same run, not restarted');
  assert.equal(sim.counters.starts, 1);
  // Machines are independent: another machine has seen no ballot yet.
  assert.equal(sim.poll(req('sim-00001', { round: 1, replica: 1 }, [])).refused, false);
});

test('tasks not desired are killed; a new spec restarts the task, a new version of the same spec does not; non-authoritative polls only look', () => {
  const { sim } = setup();
  const b = { round: 1, replica: 1 };
  sim.poll(req('sim-00000', b, [desired('c/u/j/0', 1), desired('c/u/j/1', 1)]));
  const look = sim.poll(req('sim-00000', b, [], false));
  assert.equal(look.tasks.length, 2);
  const r = sim.poll(req('sim-00000', b, [desired('c/u/j/1', 2, { V: '2' })]));
  assert.deepEqual(r.tasks.map((t) => [t.taskId, t.specVersion]), [['c/u/j/1', 2]]);
  assert.equal(sim.counters.kills, 2);
  assert.equal(sim.counters.starts, 3);
  const pid = r.tasks[0]?.pid;
  const priorityOnly = { ...desired('c/u/j/1', 3, { V: '2' }), priority: 200 };
  const same = sim.poll(req('sim-00000', b, [priorityOnly]));
  assert.deepEqual(same.tasks.map((t) => [t.specVersion, t.pid, t.state]), [[3, pid, TaskState.RUNNING]]);
  assert.equal(sim.counters.starts, 3, 'a priority change never restarts a task');
});

test('a task with SIM_DURATION_MS finishes after its sampled duration; SIM_EXIT_CODE makes it fail', () => {
  const { sim, clock } = setup();
  const b = { round: 1, replica: 1 };
  sim.poll(req('sim-00000', b, [desired('c/u/j/0', 1, { SIM_DURATION_MS: '1000' }), desired('c/u/j/1', 1, { SIM_DURATION_MS: '1000', SIM_EXIT_CODE: '3' })]));
  clock.advance(700);
  assert.ok(sim.poll(req('sim-00000', b, [desired('c/u/j/0', 1), desired('c/u/j/1', 1)])).tasks.every((t) => t.state === TaskState.RUNNING), 'not before 75% of the duration');
  clock.advance(600);
  const r = sim.poll(req('sim-00000', b, [desired('c/u/j/0', 1), desired('c/u/j/1', 1)]));
  assert.deepEqual(r.tasks.map((t) => [t.state, t.lastEvent, t.exitCode]), [
    [TaskState.DEAD, EventType.FINISH, 0],
    [TaskState.DEAD, EventType.FAIL, 3],
  ]);
});

test('synthetic usage is seeded: the same seed gives the same usage', () => {
  const run = () => setup().sim.poll(req('sim-00002', { round: 1, replica: 1 }, [desired('c/u/j/0', 1)])).tasks[0]?.usage;
  assert.deepEqual(run(), run());
  const u = run();
  assert.ok(u !== undefined && u.cpuMillis > 0 && u.cpuMillis <= 100 && u.ramBytes > 0);
});

test('bad input is refused with the field named, and changes nothing', () => {
  const { sim } = setup();
  const b = { round: 1, replica: 1 };
  const cases: [string, PollRequest, string][] = [
    ['unknown machine', req('nope', b, []), 'machine'],
    ['no machine', req('', b, []), 'machine'],
    ['other cell', { ...req('sim-00000', b, []), cell: 'other' }, 'cell'],
    ['no ballot', { ...req('sim-00000', b, []), ballot: undefined }, 'ballot'],
    ['duplicate task', req('sim-00000', b, [desired('c/u/j/0', 1), desired('c/u/j/0', 1)]), 'tasks[1].taskId'],
    ['empty task id', req('sim-00000', b, [desired('', 1)]), 'tasks[0].taskId'],
  ];
  for (const [name, r, field] of cases) {
    assert.throws(() => sim.poll(r), (e: unknown) => e instanceof InvalidArgument && e.field === field, name);
  }
  assert.equal(sim.counters.starts, 0);
  assert.deepEqual(sim.ballotSeen('sim-00000'), { round: 0, replica: 0 });
  // A bad spec is not a bad poll: the task is reported DEAD with the reason, like the real Borglet does.
  const bad = desired('c/u/j/0', 1);
  if (bad.spec?.requirements) bad.spec.requirements.cpuMillis = -5;
  const r = sim.poll(req('sim-00000', b, [bad]));
  assert.equal(r.tasks[0]?.state, TaskState.DEAD);
  assert.match(r.tasks[0]?.message ?? '', /requirements/);
});

test('a partitioned machine drops polls until healed', () => {
  const { sim } = setup();
  sim.partition('sim-00001', true);
  assert.throws(() => sim.poll(req('sim-00001', { round: 1, replica: 1 }, [])), Unavailable);
  assert.equal(sim.poll(req('sim-00000', { round: 1, replica: 1 }, [])).refused, false);
  sim.partition('sim-00001', false);
  assert.equal(sim.poll(req('sim-00001', { round: 1, replica: 1 }, [])).refused, false);
  assert.equal(sim.counters.dropped, 1);
});

test('random masters: seeds 1..30 keep every promise', () => {
  for (let s = 1; s <= 30; s++) assert.equal(checkSeed(s, 500), undefined);
});
