// Preemption: prod never evicts prod; victims lowest priority first and as few as possible; victims go back to
// the pending queue; a machine that fits without evictions always beats one that needs them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { canPreempt } from '../model/priority';
import { VictimFinder } from './preemption';
import { REASON_SLOTS } from './reasons';
import { DIMS } from './snapshot';
import { classKey, TaskClass } from './task_class';
import { TestCell } from './testing';
import type { FitPolicy } from '../cells/config';
import { planVerdicts, type SchedTask } from './types';
import { policyCode, scoreMachine } from './scorers/compose';
import { preemptionCost } from './scorers/preemption_cost';

test('prod evicts non-prod, never prod', () => {
  const cell = new TestCell().machine(1, { cpu: 4000 });
  cell.place(1, { cpu: 2000, priority: 120 });
  const batch = cell.place(1, { cpu: 2000, priority: 100 });
  const t = cell.submit({ cpu: 2000, priority: 300 });
  const plan = cell.scheduler().schedulePass(cell.snap, cell.queue);
  assert.deepEqual(plan.assignments.map((a) => [a.taskId, a.machineId, a.victims]), [[t.id, 1, [batch.id]]]);
  assert.equal(plan.stats.preemptions, 1);
  assert.ok(cell.queue.has(batch.id), 'the victim is pending again');
  assert.ok(!cell.snap.isPlaced(batch.id));

  const cell2 = new TestCell().machine(1, { cpu: 4000 });
  cell2.place(1, { cpu: 4000, priority: 120 });
  const t2 = cell2.submit({ cpu: 1000, priority: 359 });
  const plan2 = cell2.scheduler().schedulePass(cell2.snap, cell2.queue);
  assert.deepEqual(planVerdicts(plan2), [{ taskId: t2.id, why: '0/1 machines feasible: 1 insufficient cpu' }]);
});

test('victims: lowest priority first, then fewest', () => {
  const cell = new TestCell().machine(1, { cpu: 8000 });
  const low1 = cell.place(1, { cpu: 1000, priority: 0 });
  const low2 = cell.place(1, { cpu: 1000, priority: 0 });
  cell.place(1, { cpu: 2000, priority: 105 });
  cell.place(1, { cpu: 4000, priority: 110 });
  // Needs 2 cores: both priority-0 tasks (lowest), not the single priority-105 task.
  cell.submit({ cpu: 2000, priority: 200 });
  let plan = cell.scheduler().schedulePass(cell.snap, cell.queue);
  assert.deepEqual([...(plan.assignments[0]?.victims ?? [])].sort(), [low1.id, low2.id].sort());

  // Within one priority, one big victim beats several small ones.
  const cell2 = new TestCell().machine(1, { cpu: 8000 });
  cell2.place(1, { cpu: 1000, priority: 100 });
  cell2.place(1, { cpu: 1000, priority: 100 });
  const big = cell2.place(1, { cpu: 3000, priority: 100 });
  cell2.place(1, { cpu: 3000, priority: 200 });
  cell2.submit({ cpu: 3000, priority: 200 });
  plan = cell2.scheduler().schedulePass(cell2.snap, cell2.queue);
  assert.deepEqual(plan.assignments[0]?.victims, [big.id]);
});

test('a higher victim is dropped when lower ones already cover the need', () => {
  const cell = new TestCell().machine(1, { cpu: 4000, ramGiB: 16 });
  const a = cell.place(1, { cpu: 1000, ramGiB: 1, priority: 0 });
  cell.place(1, { cpu: 1000, ramGiB: 1, priority: 50 });
  const c = cell.place(1, { cpu: 2000, ramGiB: 1, priority: 10 });
  // Need 2 cores: greedy by priority takes a (1 core, prio 0) then c (2 cores, prio 10); a alone is not enough,
  // and the pruning pass keeps both. The priority-50 task is never touched.
  cell.submit({ cpu: 2500, ramGiB: 1, priority: 200 });
  const plan = cell.scheduler().schedulePass(cell.snap, cell.queue);
  assert.deepEqual([...(plan.assignments[0]?.victims ?? [])].sort(), [a.id, c.id].sort());
  const cell2 = new TestCell().machine(1, { cpu: 4000, ramGiB: 16 });
  cell2.place(1, { cpu: 500, ramGiB: 1, priority: 0 });
  const big = cell2.place(1, { cpu: 3500, ramGiB: 1, priority: 10 });
  // Greedy takes the 0.5-core task then the 3.5-core one; the first is then redundant and is spared.
  cell2.submit({ cpu: 3000, ramGiB: 1, priority: 200 });
  const plan2 = cell2.scheduler().schedulePass(cell2.snap, cell2.queue);
  assert.deepEqual(plan2.assignments[0]?.victims, [big.id]);
});

test('a free machine beats a cheaper fit that needs evictions; non-prod preempts lower non-prod', () => {
  const cell = new TestCell().machine(1, { cpu: 4000 }).machine(2, { cpu: 4000 });
  cell.place(1, { cpu: 4000, priority: 0 });
  cell.place(2, { cpu: 3000, priority: 200 });
  cell.submit({ cpu: 1000, priority: 200 });
  let plan = cell.scheduler({ policy: 'best' }).schedulePass(cell.snap, cell.queue);
  assert.deepEqual(plan.assignments.map((a) => [a.machineId, a.victims.length]), [[2, 0]]);

  const cell2 = new TestCell().machine(1, { cpu: 4000 });
  const free = cell2.place(1, { cpu: 4000, priority: 0 });
  cell2.submit({ cpu: 1000, priority: 104 });
  plan = cell2.scheduler().schedulePass(cell2.snap, cell2.queue);
  assert.deepEqual(plan.assignments[0]?.victims, [free.id]);
});

test('the cheapest eviction wins though every machine scores alike before its victims are searched', () => {
  // Both machines are full with a priority-0 task at the bottom, so both first score with the least cost an
  // eviction could have (one priority-0 victim). Machine 1 needs two victims, machine 2 one: only the searched
  // victims tell them apart, and the tie of the bounds would go to machine 1.
  for (const policy of ['best', 'worst'] as const) {
    const cell = new TestCell().machine(1, { cpu: 4000 }).machine(2, { cpu: 4000 });
    cell.place(1, { cpu: 1000, priority: 0 });
    cell.place(1, { cpu: 1000, priority: 0 });
    cell.place(1, { cpu: 2000, priority: 200 });
    const one = cell.place(2, { cpu: 2000, priority: 0 });
    cell.place(2, { cpu: 2000, priority: 200 });
    cell.submit({ cpu: 2000, priority: 104 });
    const plan = cell.scheduler({ policy }).schedulePass(cell.snap, cell.queue);
    assert.deepEqual(plan.assignments.map((a) => [a.machineId, a.victims]), [[2, [one.id]]], policy);
  }
});

test('victims wait for the next pass, then are placed elsewhere or get a verdict', () => {
  const cell = new TestCell().machine(1, { cpu: 4000 }).machine(2, { cpu: 1000 });
  const victim = cell.place(1, { cpu: 2000, priority: 100 });
  cell.place(2, { cpu: 1000, priority: 200 });
  cell.place(1, { cpu: 2000, priority: 200 });
  cell.submit({ cpu: 2000, priority: 200 });
  const sched = cell.scheduler();
  const p1 = sched.schedulePass(cell.snap, cell.queue);
  assert.deepEqual(p1.assignments[0]?.victims, [victim.id]);
  assert.equal(planVerdicts(p1).length, 0, 'the victim is not looked at in the pass that evicted it');
  const p2 = sched.schedulePass(cell.snap, cell.queue);
  assert.deepEqual(planVerdicts(p2), [{ taskId: victim.id, why: '0/2 machines feasible: 2 insufficient cpu' }]);
});

test('on a full cell, a task that may preempt takes the one machine with free room rather than evicting', () => {
  // 400 machines run free-tier tasks that a batch task could evict; one has free room. The superset the task
  // could preempt on is far larger than a sample, so only a look at free room first finds that machine.
  for (const seed of [1, 2, 3]) {
    const cell = new TestCell();
    for (let m = 1; m <= 400; m++) {
      cell.machine(m, { cpu: 4000 });
      if (m !== 257) cell.place(m, { cpu: 4000, ramGiB: 2, priority: 0 });
    }
    cell.submit({ cpu: 1000, priority: 104 });
    const plan = cell.scheduler({}, seed).schedulePass(cell.snap, cell.queue);
    assert.deepEqual(plan.assignments.map((a) => [a.machineId, a.victims.length]), [[257, 0]], `seed ${seed}`);
  }
});

test('find chooses what the greedy order and pruning choose, on any machine (the single-victim shortcut agrees)', () => {
  const victim = fc.record({ priority: fc.constantFrom(0, 1, 25, 100, 104, 110, 120, 200), cpu: fc.integer({ min: 100, max: 3000 }), ramGiB: fc.integer({ min: 0, max: 8 }) });
  const want = fc.record({ priority: fc.constantFrom(1, 25, 104, 110, 200, 300), cpu: fc.integer({ min: 100, max: 12000 }), ramGiB: fc.integer({ min: 0, max: 24 }) });
  fc.assert(
    fc.property(fc.array(victim, { minLength: 1, maxLength: 24 }), want, fc.integer({ min: 0, max: 2000 }), fc.integer({ min: 0, max: 4 }), (placed, w, slackCpu, slackGiB) => {
      const cell = new TestCell().machine(1, {
        cpu: placed.reduce((a, v) => a + v.cpu, 0) + slackCpu,
        ramGiB: placed.reduce((a, v) => a + v.ramGiB, 0) + slackGiB,
      });
      for (const v of placed) cell.place(1, v);
      const task = cell.task(w);
      const c = new TaskClass(classKey(task), task, REASON_SLOTS, 8);
      const snap = cell.snap;
      const m = snap.slot(1);
      const finder = new VictimFinder();
      const n = finder.find(snap, c, m);
      assert.deepEqual(n < 0 ? undefined : [...finder.victims.subarray(0, n)], referenceVictims(snap, c, m));
    }),
    { numRuns: 400 },
  );
});

test('property: a task that may preempt goes where exact scores put it, victims searched on every machine', () => {
  // The scheduler scores a machine that needs evictions with a bound and searches victims only for the one that
  // would win (Scheduler.exactBest). The reference searches them on every machine and scores all of them exactly.
  const running = fc.record({ priority: fc.constantFrom(0, 1, 25, 100, 104, 120, 200), cpu: fc.integer({ min: 100, max: 2000 }), ramGiB: fc.integer({ min: 0, max: 4 }) });
  const want = fc.record({ priority: fc.constantFrom(1, 25, 104, 110, 200, 300), cpu: fc.integer({ min: 100, max: 4000 }), ramGiB: fc.integer({ min: 0, max: 8 }) });
  const policies: FitPolicy[] = ['best', 'worst'];
  fc.assert(
    fc.property(fc.array(fc.array(running, { maxLength: 8 }), { minLength: 1, maxLength: 6 }), want, fc.constantFrom(...policies), (machines, w, policy) => {
      const build = (): TestCell => {
        const cell = new TestCell();
        machines.forEach((tasks, i) => {
          cell.machine(i + 1, { cpu: 4000, ramGiB: 16 });
          let cpu = 0;
          let ram = 0;
          for (const t of tasks) {
            if (cpu + t.cpu > 4000 || ram + t.ramGiB > 16) continue;
            cpu += t.cpu;
            ram += t.ramGiB;
            cell.place(i + 1, { ...t, job: `j${i}` });
          }
        });
        cell.submit({ ...w, job: 'new' });
        return cell;
      };
      const { snap, queue } = build();
      const task = queue.ordered()[0] as SchedTask;
      const c = new TaskClass(classKey(task), task, REASON_SLOTS, 8);
      const finder = new VictimFinder();
      let best: [number, number[]] | undefined;
      let bestScore = -Infinity;
      for (let m = 0; m < snap.slotCount; m++) {
        // Prod is charged the limits of prod (and may evict all non-prod); every candidate, the reservations.
        if (c.prod && [c.needCpu, c.needRam].some((x, d) => x > (snap.cap[m * DIMS + d] as number) - (snap.prodLimit[m * DIMS + d] as number))) continue;
        const n = finder.find(snap, c, m);
        if (n < 0) continue;
        const score = scoreMachine(snap, c, m, policyCode(policy), 1) - preemptionCost(n, finder.prioritySum);
        if (score > bestScore) {
          bestScore = score;
          best = [snap.machineIdOf(m), [...finder.victims.subarray(0, n)].map((t) => (snap.tTask[t] as SchedTask).id)];
        }
      }
      for (const over of [{ policy }, { policy, scoreCaching: false, equivalenceClasses: false, relaxedRandomization: false }]) {
        const cell = build();
        const plan = cell.scheduler(over).schedulePass(cell.snap, cell.queue);
        assert.deepEqual(plan.assignments.map((a) => [a.machineId, a.victims]), best === undefined ? [] : [best], JSON.stringify(over));
      }
    }),
    { numRuns: 300 },
  );
});

/** referenceVictims: preemption.ts's rule written plainly (sort, greedy, prune); undefined when nothing makes room. */
function referenceVictims(snap: TestCell['snap'], c: TaskClass, m: number): number[] | undefined {
  const need = [c.needCpu, c.needRam, c.needDisk, c.needPorts];
  const def = need.map((x, d) => x - ((snap.cap[m * DIMS + d] as number) - (snap.resAll[m * DIMS + d] as number)));
  const covered = (): boolean => def.every((x) => x <= 0);
  if (covered()) return [];
  const res = (t: number, d: number): number => snap.tRes[t * DIMS + d] as number;
  const weight = (t: number): number => def.reduce((a, x, d) => (x > 0 ? a + Math.min(1, res(t, d) / x) : a), 0);
  const order = (snap.machineTasks[m] as number[])
    .filter((t) => canPreempt(c.priority, snap.tPriority[t] as number))
    .map((t) => ({ t, p: snap.tPriority[t] as number, w: weight(t) }))
    .sort((a, b) => a.p - b.p || b.w - a.w || a.t - b.t);
  const chosen: number[] = [];
  for (const { t } of order) {
    if (covered()) break;
    for (let d = 0; d < DIMS; d++) def[d] = (def[d] as number) - res(t, d);
    chosen.push(t);
  }
  if (!covered()) return undefined;
  for (let i = chosen.length - 1; i >= 0; i--) {
    const t = chosen[i] as number;
    if (def.some((x, d) => x + res(t, d) > 0)) continue;
    for (let d = 0; d < DIMS; d++) def[d] = (def[d] as number) + res(t, d);
    chosen.splice(i, 1);
  }
  return chosen;
}

test('a class whose cached sample offers only evictions looks again when a machine has free room for it', () => {
  // The first task's sample is drawn on a full cell (every candidate needs an eviction); then a task finishes on
  // machine 257. The class's next task, decided from its cached sample, would evict again; it takes 257.
  for (const seed of [1, 2, 3]) {
    const cell = new TestCell();
    for (let m = 1; m <= 400; m++) cell.machine(m, { cpu: 4000 });
    const free = new Map<number, number>();
    for (let m = 1; m <= 400; m++) free.set(m, cell.place(m, { cpu: 4000, ramGiB: 2, priority: 0 }).id);
    const sched = cell.scheduler({}, seed);
    cell.submit({ job: 'batch', cpu: 3000, ramGiB: 2, priority: 104 });
    const first = sched.schedulePass(cell.snap, cell.queue);
    assert.equal(first.assignments[0]?.victims.length, 1, `seed ${seed}: the first task evicts`);
    cell.snap.removeTask(free.get(257) as number);
    cell.submit({ job: 'batch', cpu: 3000, ramGiB: 2, priority: 104 });
    const second = sched.schedulePass(cell.snap, cell.queue);
    assert.deepEqual(second.assignments.map((a) => [a.machineId, a.victims.length]), [[257, 0]], `seed ${seed}`);
  }
});
