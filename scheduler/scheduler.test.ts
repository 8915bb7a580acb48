// The composed pass: properties over random cells (no charged dimension is ever oversubscribed, constraints and
// spread limits hold, the same seed gives the same plan, every optimization setting is safe), plus avoidance,
// plan bounds, machine state changes and the why-pending verdicts across passes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isProd } from '../model/priority';
import { TestCell, type TaskDesc } from './testing';
import { DIMS } from './snapshot';
import { MACHINE_DOWN, MACHINE_DRAINING, MACHINE_UP, OP_EQ, OP_IN, OP_NE, planVerdicts, type Plan, type SchedTask } from './types';
import type { SchedulerConfig } from '../cells/config';
import type { SampleOrder, SchedulerTuning } from './scheduler';

interface World {
  machines: { cpu: number; ramGiB: number; arch: string; rack: string }[];
  tasks: (TaskDesc & { removeAfter: boolean })[];
}

const worldArb: fc.Arbitrary<World> = fc.record({
  machines: fc.array(
    fc.record({ cpu: fc.integer({ min: 1000, max: 16_000 }), ramGiB: fc.integer({ min: 1, max: 64 }), arch: fc.constantFrom('x86', 'arm64'), rack: fc.constantFrom('r1', 'r2', 'r3') }),
    { minLength: 1, maxLength: 12 },
  ),
  tasks: fc.array(
    fc.record({
      job: fc.constantFrom('a', 'b', 'c', 'd'),
      user: fc.constantFrom('u1', 'u2', 'u3'),
      priority: fc.constantFrom(0, 1, 100, 104, 110, 200, 250, 360),
      cpu: fc.integer({ min: 100, max: 8000 }),
      ramGiB: fc.integer({ min: 1, max: 24 }),
      constraints: fc.constantFrom<TaskDesc['constraints']>([], [['arch', OP_EQ, 'x86']], [['arch', OP_NE, 'x86']], [['arch', OP_IN, 'arm64', 'x86']]),
      spread: fc.constantFrom<TaskDesc['spread']>({}, { maxPerMachine: 1 }, { maxPerRack: 2 }),
      removeAfter: fc.boolean(),
    }),
    { minLength: 1, maxLength: 60 },
  ),
});

const configArb: fc.Arbitrary<Partial<SchedulerConfig>> = fc.record({
  policy: fc.constantFrom('worst' as const, 'best' as const, 'hybrid' as const),
  scoreCaching: fc.boolean(),
  equivalenceClasses: fc.boolean(),
  relaxedRandomization: fc.boolean(),
  feasibleLimit: fc.integer({ min: 1, max: 8 }),
});

// The room index and the way a class samples it, so the properties cover walks, indexed views and both samples.
const tuningArb: fc.Arbitrary<Partial<SchedulerTuning>> = fc.record({ roomIndex: fc.boolean(), sampleOrder: fc.constantFrom<SampleOrder>('best', 'random') });

function build(w: World): TestCell {
  const cell = new TestCell();
  w.machines.forEach((m, i) => cell.machine(i + 1, { cpu: m.cpu, ramGiB: m.ramGiB, attrs: { arch: m.arch }, rack: m.rack }));
  for (const t of w.tasks) cell.submit(t);
  return cell;
}

function checkCell(cell: TestCell): void {
  const s = cell.snap;
  for (let m = 0; m < s.slotCount; m++) {
    for (let d = 0; d < DIMS; d++) {
      const cap = s.cap[m * DIMS + d] as number;
      assert.ok((s.resAll[m * DIMS + d] as number) <= cap, `machine slot ${m} dim ${d}: reservations exceed capacity`);
      assert.ok((s.prodLimit[m * DIMS + d] as number) <= cap, `machine slot ${m} dim ${d}: prod limits exceed capacity`);
    }
  }
  // Placements oldest first: a spread limit bounds the job's tasks a task found when it was placed (a later task of
  // the job with no limit of its own may join it).
  const perMachine = new Map<string, number>();
  const perRack = new Map<string, number>();
  s.forEachPlaced((t, machineId) => {
    const m = s.slot(machineId);
    for (const c of t.constraints) {
      const v = s.attrColumns.get(c.key)?.[m] ?? 0;
      const ok = c.op === OP_EQ ? v === c.values[0] : c.op === OP_NE ? v !== c.values[0] : c.values.includes(v);
      assert.ok(ok, `task ${t.id} on machine ${machineId} breaks a constraint`);
    }
    const km = `${t.job}/${m}`;
    const kr = `${t.job}/${s.rack[m]}`;
    perMachine.set(km, (perMachine.get(km) ?? 0) + 1);
    perRack.set(kr, (perRack.get(kr) ?? 0) + 1);
    if (t.spread.maxPerMachine > 0) assert.ok((perMachine.get(km) as number) <= t.spread.maxPerMachine, 'spread per machine');
    if (t.spread.maxPerRack > 0) assert.ok((perRack.get(kr) as number) <= t.spread.maxPerRack, 'spread per rack');
  });
}

function checkPlan(cell: TestCell, plan: Plan): void {
  for (const a of plan.assignments) {
    const t = cell.snap.isPlaced(a.taskId);
    assert.ok(t, `assigned task ${a.taskId} is placed`);
    assert.ok(a.victims.length <= 64);
  }
  for (const v of planVerdicts(plan)) assert.match(v.why, /^\d+\/\d+ machines feasible/);
}

test('property: no placement oversubscribes a charged dimension, constraints and spread hold, under every setting', () => {
  fc.assert(
    fc.property(worldArb, configArb, tuningArb, fc.integer({ min: 0, max: 1000 }), (w, over, tuning, seed) => {
      const cell = build(w);
      const sched = cell.scheduler(over, seed, tuning);
      const plan = sched.schedulePass(cell.snap, cell.queue);
      checkPlan(cell, plan);
      checkCell(cell);
      // Some tasks finish; victims and leftovers get another pass; then a machine drains and one goes down.
      for (const [i, t] of w.tasks.entries()) if (t.removeAfter && cell.snap.isPlaced(i + 1)) cell.snap.removeTask(i + 1);
      checkPlan(cell, sched.schedulePass(cell.snap, cell.queue));
      checkCell(cell);
      cell.snap.setMachineState(1, MACHINE_DRAINING);
      checkPlan(cell, sched.schedulePass(cell.snap, cell.queue));
      checkCell(cell);
      // Every decided task is either placed or pending with a verdict, never both.
      for (const v of planVerdicts(plan)) assert.ok(!cell.snap.isPlaced(v.taskId) || plan.assignments.every((a) => a.taskId !== v.taskId));
    }),
    { numRuns: 150, seed: 42 },
  );
});

test('property: a task left pending has no machine an exhaustive scheduler could put it on, pass after pass', () => {
  // Within a pass, what is decided after a task (priority no higher) can only turn room the task could preempt into
  // free room, so a pending verdict must still hold when the pass ends: checked against all optimizations off.
  // Between passes tasks finish and others come back bigger (a rolling update), so class views outlive the cell.
  fc.assert(
    fc.property(worldArb, configArb, tuningArb, fc.integer({ min: 0, max: 1000 }), (w, over, tuning, seed) => {
      const cell = build(w);
      const sched = cell.scheduler(over, seed, tuning);
      const check = (plan: Plan): void => {
        for (const v of planVerdicts(plan)) {
          const task = cell.queue.get(v.taskId);
          assert.ok(task, `pending task ${v.taskId} is still queued`);
          const oracle = new TestCell();
          oracle.queue.add(task);
          const exhaustive = cell.scheduler({ ...over, scoreCaching: false, equivalenceClasses: false, relaxedRandomization: false }, seed, { roomIndex: false });
          const found = exhaustive.schedulePass(cell.snap, oracle.queue);
          assert.deepEqual(found.assignments.map((a) => a.machineId), [], `task ${v.taskId} was left pending (${v.why}) but fits`);
        }
      };
      check(sched.schedulePass(cell.snap, cell.queue));
      for (const [i, t] of w.tasks.entries()) {
        const id = i + 1;
        if (!t.removeAfter || !cell.snap.isPlaced(id)) continue;
        const old = cell.snap.removeTask(id);
        if (i % 2 === 0) cell.queue.add({ ...old, limit: { ...old.limit, cpuMillis: old.limit.cpuMillis * 2 } });
      }
      check(sched.schedulePass(cell.snap, cell.queue));
      check(sched.schedulePass(cell.snap, cell.queue));
    }),
    { numRuns: 150, seed: 11 },
  );
});

test('property: the same seed gives the same plan', () => {
  fc.assert(
    fc.property(worldArb, configArb, tuningArb, fc.integer({ min: 0, max: 1000 }), (w, over, tuning, seed) => {
      const plans = [0, 1].map(() => {
        const cell = build(w);
        const sched = cell.scheduler(over, seed, tuning);
        return [sched.schedulePass(cell.snap, cell.queue), sched.schedulePass(cell.snap, cell.queue)].map((p) => ({ a: p.assignments, v: planVerdicts(p) }));
      });
      assert.deepEqual(plans[0], plans[1]);
    }),
    { numRuns: 100, seed: 7 },
  );
});

test('property: prod never preempts prod, and victims are always of lower priority', () => {
  fc.assert(
    fc.property(worldArb, fc.integer({ min: 0, max: 100 }), (w, seed) => {
      const cell = build(w);
      const sched = cell.scheduler({}, seed);
      const prio = new Map(w.tasks.map((t, i) => [i + 1, t.priority ?? 200]));
      for (let pass = 0; pass < 3; pass++) {
        for (const a of sched.schedulePass(cell.snap, cell.queue).assignments) {
          const p = prio.get(a.taskId) as number;
          for (const v of a.victims) {
            const q = prio.get(v) as number;
            assert.ok(q < p, 'victim of lower priority');
            assert.ok(!(isProd(p) && isProd(q)), 'prod never preempts prod');
          }
        }
      }
    }),
    { numRuns: 100, seed: 3 },
  );
});

test('all optimizations on and off place the same on an uncontended cell', () => {
  const place = (over: Partial<SchedulerConfig>): number => {
    const cell = new TestCell();
    for (let i = 1; i <= 50; i++) cell.machine(i, { cpu: 8000, ramGiB: 32, rack: `r${i % 5}` });
    for (let i = 0; i < 200; i++) cell.submit({ job: `j${i % 7}`, user: `u${i % 3}`, cpu: 500 + (i % 4) * 500, ramGiB: 1 + (i % 3), priority: i % 2 ? 200 : 100 });
    const plan = cell.scheduler(over).schedulePass(cell.snap, cell.queue);
    checkCell(cell);
    return plan.assignments.length;
  };
  assert.equal(place({}), 200);
  assert.equal(place({ scoreCaching: false, equivalenceClasses: false, relaxedRandomization: false }), 200);
});

test('avoided pairings are honoured; a task avoiding every fit waits with the reason', () => {
  const cell = new TestCell().machine(1).machine(2);
  const t = cell.submit();
  cell.snap.avoidPairing(t.id, 1, cell.clock.nowMs() + 60_000);
  const sched = cell.scheduler({ relaxedRandomization: false });
  const plan = sched.schedulePass(cell.snap, cell.queue);
  assert.deepEqual(plan.assignments.map((a) => a.machineId), [2]);

  const cell2 = new TestCell().machine(1);
  const t2 = cell2.submit();
  cell2.snap.avoidPairing(t2.id, 1, cell2.clock.nowMs() + 60_000);
  const s2 = cell2.scheduler();
  assert.deepEqual(planVerdicts(s2.schedulePass(cell2.snap, cell2.queue)), [{ taskId: t2.id, why: '0/1 machines feasible: 1 avoided task::machine pairing' }]);
  cell2.clock.advance(60_000);
  assert.deepEqual(s2.schedulePass(cell2.snap, cell2.queue).assignments.map((a) => a.machineId), [1]);
});

test('a plan is bounded; the rest of the queue waits for the next pass', () => {
  const cell = new TestCell().machine(1, { cpu: 64_000, ramGiB: 256 });
  for (let i = 0; i < 10; i++) cell.submit({ cpu: 100 });
  const sched = cell.scheduler();
  const p1 = sched.schedulePass(cell.snap, cell.queue, { maxAssignments: 4 });
  assert.equal(p1.assignments.length, 4);
  assert.equal(planVerdicts(p1).length, 0);
  assert.equal(cell.queue.size, 6);
  assert.equal(sched.schedulePass(cell.snap, cell.queue).assignments.length, 6);
});

test('an exhausted class is answered from its verdict until a machine frees up, then placed', () => {
  const build = (): { cell: TestCell; blocker: SchedTask; waiting: SchedTask[] } => {
    const cell = new TestCell().machine(1, { cpu: 2000 }).machine(2, { cpu: 2000, state: MACHINE_DOWN });
    const blocker = cell.place(1, { cpu: 2000, priority: 360 });
    return { cell, blocker, waiting: [cell.submit({ cpu: 1500, job: 'w' }), cell.submit({ cpu: 1500, job: 'w' })] };
  };
  // Without the room index the class walks both machines once; with it, the grid proves the UP machine short of
  // cpu and the view evaluates nothing. Either way the second task reuses the first one's view.
  const other = build().cell;
  const w1 = other.scheduler({}, 1, { roomIndex: false }).schedulePass(other.snap, other.queue);
  const { cell, blocker, waiting } = build();
  assert.equal(w1.stats.evaluations, 2, 'the second task of the class reuses the first one\'s walk');
  assert.equal(w1.stats.indexedViews, 0);
  const sched = cell.scheduler();
  const p1 = sched.schedulePass(cell.snap, cell.queue);
  assert.deepEqual(planVerdicts(p1).map((v) => v.why), ['0/2 machines feasible: 1 machine down, 1 insufficient cpu', '0/2 machines feasible: 1 machine down, 1 insufficient cpu']);
  assert.deepEqual(planVerdicts(w1).map((v) => v.why), planVerdicts(p1).map((v) => v.why), 'walk and indexed view give the same verdict');
  assert.equal(p1.stats.evaluations, 0);
  assert.equal(p1.stats.indexedViews, 1, 'one view for the class, reused by its second task');
  const p2 = sched.schedulePass(cell.snap, cell.queue);
  assert.equal(p2.stats.evaluations + p2.stats.indexedViews, 0, 'nothing was freed: no machine is looked at');
  cell.snap.removeTask(blocker.id);
  cell.snap.setMachineState(2, MACHINE_UP);
  const p3 = sched.schedulePass(cell.snap, cell.queue);
  assert.deepEqual(p3.assignments.map((a) => a.taskId).sort(), waiting.map((t) => t.id).sort());
});

test('property: when every class sees every machine, all optimizations on give exactly the plan of all off', () => {
  // One pass from an empty cell (no removals, so no machine gains room behind a class's back) with a feasible
  // limit above the cell's size: every view is complete, so what remains of the optimizations is the caching and
  // the sharing, which must not change a single choice (ties go to the lowest slot in both).
  const noRemovals = worldArb.map((w) => ({ ...w, tasks: w.tasks.map((t) => ({ ...t, removeAfter: false })) }));
  fc.assert(
    fc.property(noRemovals, fc.constantFrom('worst' as const, 'best' as const, 'hybrid' as const), tuningArb, fc.integer({ min: 0, max: 1000 }), (w, policy, tuning, seed) => {
      // Verdicts are exact with the room index and samples by fit; a class that inherits a donor's view (the walk
      // without the index, or random samples) takes the donor's reason for machines both reject (README), so
      // there only the feasible count is compared.
      const exact = tuning.roomIndex === true && tuning.sampleOrder === 'best';
      const plan = (over: Partial<SchedulerConfig>): string[] => {
        const cell = build(w);
        const p = cell.scheduler({ policy, ...over }, seed, tuning).schedulePass(cell.snap, cell.queue);
        const why = (v: string): string => (exact ? v : v.replace(/:.*$/, ''));
        return [...p.assignments.map((a) => `${a.taskId}->${a.machineId}`), ...planVerdicts(p).map((v) => `${v.taskId}: ${why(v.why)}`)].sort();
      };
      const off = plan({ scoreCaching: false, equivalenceClasses: false, relaxedRandomization: false });
      const on = plan({ scoreCaching: true, equivalenceClasses: true, relaxedRandomization: true, feasibleLimit: 64 });
      assert.deepEqual(on, off);
    }),
    { numRuns: 150, seed: 11 },
  );
});

test('property: an exhausted class rechecking the room index superset filtered by "freed since" decides as the freed-log recheck', () => {
  // A full cell, then a burst of removals (more than RECHECK_DONOR_MIN_LAG machines freed) and more passes: the
  // exhausted classes recheck either the log (supersetRecheck off) or the superset's machines freed since (on).
  // Both must find exactly the same machines, so placements, victims and verdicts are identical.
  const burst = fc.record({
    machines: fc.array(fc.record({ cpu: fc.integer({ min: 1000, max: 8000 }), ramGiB: fc.integer({ min: 1, max: 32 }), rack: fc.constantFrom('r1', 'r2', 'r3') }), { minLength: 20, maxLength: 40 }),
    tasks: fc.array(
      fc.record({
        job: fc.constantFrom('a', 'b', 'c'),
        user: fc.constantFrom('u1', 'u2'),
        priority: fc.constantFrom(0, 1, 100, 104, 200, 360),
        cpu: fc.integer({ min: 200, max: 6000 }),
        ramGiB: fc.integer({ min: 1, max: 20 }),
        removeAfter: fc.boolean(),
      }),
      { minLength: 60, maxLength: 160 },
    ),
  });
  let rechecks = 0;
  fc.assert(
    fc.property(burst, fc.integer({ min: 0, max: 1000 }), (w, seed) => {
      const run = (supersetRecheck: boolean): string[] => {
        const cell = new TestCell();
        w.machines.forEach((m, i) => cell.machine(i + 1, { cpu: m.cpu, ramGiB: m.ramGiB, rack: m.rack }));
        for (const t of w.tasks) cell.submit(t);
        const sched = cell.scheduler({ feasibleLimit: 8 }, seed, { supersetRecheck });
        const out: string[] = [];
        const record = (p: Plan): void => {
          if (supersetRecheck) rechecks += p.stats.supersetRechecks;
          out.push(...p.assignments.map((a) => `${a.taskId}->${a.machineId} [${a.victims.join(',')}]`), ...planVerdicts(p).map((v) => `${v.taskId}: ${v.why}`), '--');
        };
        record(sched.schedulePass(cell.snap, cell.queue));
        for (const [i, t] of w.tasks.entries()) if (t.removeAfter && cell.snap.isPlaced(i + 1)) cell.snap.removeTask(i + 1);
        record(sched.schedulePass(cell.snap, cell.queue));
        // Another burst: half of what is placed now finishes.
        const placed: number[] = [];
        cell.snap.forEachPlaced((t) => placed.push(t.id));
        placed.sort((a, b) => a - b);
        for (let i = 0; i < placed.length; i += 2) cell.snap.removeTask(placed[i] as number);
        record(sched.schedulePass(cell.snap, cell.queue));
        checkCell(cell);
        return out;
      };
      assert.deepEqual(run(true), run(false));
    }),
    { numRuns: 60, seed: 5 },
  );
  assert.ok(rechecks > 0, 'the superset recheck ran');
});

test('a task whose class view is from an earlier pass still sees machines freed since: a resubmitted prod task preempts batch', () => {
  // The rolling-update shape the Fauxmaster found: web's class placed web/0 in pass 1 and kept its complete view;
  // then web/1 (1 core on machine 1) is restarted at the new size (2 cores) and batch holds the other core.
  for (const tuning of [{}, { roomIndex: false }]) {
    for (const over of [{}, { scoreCaching: false }, { equivalenceClasses: false }, { relaxedRandomization: false }]) {
      const cell = new TestCell().machine(1, { cpu: 2000 }).machine(2, { cpu: 2000 });
      const old = cell.place(1, { cpu: 1000, job: 'web', priority: 200 });
      cell.submit({ cpu: 2000, job: 'web', priority: 200 });
      const batch = cell.submit({ cpu: 1000, job: 'batch', priority: 100 });
      const sched = cell.scheduler(over, 1, tuning);
      const first = sched.schedulePass(cell.snap, cell.queue);
      assert.deepEqual(first.assignments.map((a) => a.machineId), [2, 1], `${JSON.stringify({ tuning, over })}: web/0 on the empty machine, batch beside web/1`);
      cell.snap.removeTask(old.id);
      cell.queue.add({ ...old, limit: { ...old.limit, cpuMillis: 2000 } });
      const second = sched.schedulePass(cell.snap, cell.queue);
      assert.deepEqual(second.assignments.map((a) => [a.taskId, a.machineId, a.victims]), [[old.id, 1, [batch.id]]], `${JSON.stringify({ tuning, over })}: ${planVerdicts(second).map((v) => v.why).join('; ')}`);
    }
  }
});

test("a placement makes the cached scores of its job's candidates in the same rack stale (spreading)", () => {
  // Worst fit on three identical machines, 1 and 2 in rack a, 3 in rack b. The job's first task goes to machine 1
  // (all scores tie; the lower slot wins). Machine 2's generation does not move, but the job now has a task in its
  // rack, so its spreading term drops: the second task must go to machine 3, which a cached (stale) score for
  // machine 2 would tie.
  const cell = new TestCell().machine(1, { rack: 'a' }).machine(2, { rack: 'a' }).machine(3, { rack: 'b' });
  for (let i = 0; i < 2; i++) cell.submit({ cpu: 500, ramGiB: 1, job: 'web' });
  const plan = cell.scheduler({ policy: 'worst', relaxedRandomization: false }, 1, { hotMachines: 0 }).schedulePass(cell.snap, cell.queue);
  assert.deepEqual(
    plan.assignments.map((a) => a.machineId),
    [1, 3],
  );
  assert.ok(plan.stats.cacheHits > 0, 'the second task used cached scores');
});
