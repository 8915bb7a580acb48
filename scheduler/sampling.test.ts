// Samples by fit (scheduler.ts bestOfSuperset): how many machines a class evaluates in full, and that machines its
// constraints or spread limits rule out never make the sample.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BEST_SCAN_PER_TASK, SAMPLE_MIN, SAMPLE_PER_TASK } from './scheduler';
import { TestCell } from './testing';

function cell(machines: number): TestCell {
  const c = new TestCell();
  for (let i = 1; i <= machines; i++) c.machine(i, { cpu: 8000, ramGiB: 32, rack: `r${i}` });
  return c;
}

test('a class ranks BEST_SCAN_PER_TASK machines and evaluates in full SAMPLE_PER_TASK per task it has left in the pass', () => {
  // 200 empty machines: the superset is larger than the feasible limit (64), so the class samples by fit. It ranks
  // BEST_SCAN_PER_TASK machines per task (the whole superset once that is more), and evaluates at least SAMPLE_MIN.
  for (const [tasks, ranked, want] of [
    [1, BEST_SCAN_PER_TASK, SAMPLE_MIN],
    [3, Math.min(200, 3 * BEST_SCAN_PER_TASK), Math.max(SAMPLE_MIN, 3 * SAMPLE_PER_TASK)],
    [40, 200, 64],
  ] as const) {
    const c = cell(200);
    // Small tasks, so no machine fills up (a full one would be dropped by its room bound, without an evaluation).
    for (let i = 0; i < tasks; i++) c.submit({ job: 'j', cpu: 100, ramGiB: 0.25 });
    const plan = c.scheduler({}, 1, { hotMachines: 0 }).schedulePass(c.snap, c.queue);
    assert.equal(plan.assignments.length, tasks);
    assert.equal(plan.stats.sampledViews, 1, `${tasks} tasks: one sample`);
    assert.equal(plan.stats.rankedMachines, ranked, `${tasks} tasks: machines ranked`);
    // The sample's evaluations, then one re-evaluation per placement (the chosen machine changed; one machine per
    // rack, so no other candidate's spreading score went stale).
    assert.equal(plan.stats.evaluations, want + tasks - 1, `${tasks} tasks`);
  }
});

test('when none of the evaluated part of a sample fits, the rest of the sample is evaluated before a full view', () => {
  const c = cell(100);
  // The 8 best-fitting machines (fullest) only fit with evictions the class may not make (prod blockers).
  for (let m = 1; m <= 8; m++) c.place(m, { cpu: 7000, ramGiB: 1, priority: 360 });
  c.submit({ job: 'j', cpu: 2000 });
  const plan = c.scheduler({}, 1, { hotMachines: 0 }).schedulePass(c.snap, c.queue);
  assert.equal(plan.assignments.length, 1);
  assert.ok((plan.assignments[0]?.machineId ?? 0) > 8);
  assert.equal(plan.stats.indexedViews, 0, 'no complete view of the superset');
});

test('machines a spread limit rules out never make the sample, so the class does not fall back to a full view', () => {
  const c = cell(100);
  // The job already runs on the 8 best-fitting (fullest) machines, one task each, at most one per machine.
  for (let m = 1; m <= 8; m++) {
    c.place(m, { cpu: 6000, ramGiB: 1, priority: 360, job: 'other' });
    c.place(m, { job: 'spread', cpu: 500, spread: { maxPerMachine: 1 } });
  }
  c.submit({ job: 'spread', cpu: 500, spread: { maxPerMachine: 1 } });
  const plan = c.scheduler({}, 1, { hotMachines: 0 }).schedulePass(c.snap, c.queue);
  assert.equal(plan.assignments.length, 1);
  assert.ok((plan.assignments[0]?.machineId ?? 0) > 8, 'not next to its own task');
  assert.equal(plan.stats.indexedViews, 0, 'no complete view of the superset');
  assert.equal(plan.stats.evaluations, SAMPLE_MIN, 'only the sample is evaluated');
});
