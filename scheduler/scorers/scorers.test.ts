// Table tests for every scorer, then the composed choice each policy makes on a small cell.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TestCell, type TaskDesc } from '../testing';
import { TaskClass } from '../task_class';
import { REASON_SLOTS } from '../reasons';
import { worstFit } from './worst';
import { bestFit } from './best';
import { hybridFit, HYBRID_BALANCE_WEIGHT } from './hybrid';
import { domainSpreading } from './spreading';
import { prodMixing } from './mixing';
import { preemptionCost, PREEMPTION_BASE_COST } from './preemption_cost';

function cls(cell: TestCell, d: TaskDesc): TaskClass {
  return new TaskClass('k', cell.task(d), REASON_SLOTS, 8);
}

const close = (a: number, b: number, what: string): void => assert.ok(Math.abs(a - b) < 1e-9, `${what}: ${a} != ${b}`);

test('worst fit: E-PVM-like marginal cost prefers emptier and larger machines', () => {
  const cell = new TestCell().machine(1, { cpu: 4000, ramGiB: 16 }).machine(2, { cpu: 4000, ramGiB: 16 }).machine(3, { cpu: 8000, ramGiB: 32 });
  cell.place(2, { cpu: 2000, ramGiB: 8 });
  const c = cls(cell, { cpu: 1000, ramGiB: 4 });
  const s = [1, 2, 3].map((id) => worstFit(cell.snap, c, cell.snap.slot(id)));
  // empty 4-core: r = 0.25 per dim, cost = 2 * 0.25 * 0.25 = 0.125 -> 1 - 0.125/6
  close(s[0] as number, 1 - 0.125 / 6, 'empty');
  // half full: cost = 2 * 0.25 * (2 * 0.5 + 0.25) = 0.625
  close(s[1] as number, 1 - 0.625 / 6, 'half full');
  // empty 8-core: r = 0.125, cost = 2 * 0.125^2
  close(s[2] as number, 1 - (2 * 0.125 * 0.125) / 6, 'large');
  assert.ok((s[2] as number) > (s[0] as number) && (s[0] as number) > (s[1] as number));
});

test('best fit: mean utilisation after placement prefers the fullest machine', () => {
  const cell = new TestCell().machine(1).machine(2);
  cell.place(2, { cpu: 2000, ramGiB: 8 });
  const c = cls(cell, { cpu: 1000, ramGiB: 4 });
  close(bestFit(cell.snap, c, cell.snap.slot(1)), 0.25, 'empty');
  close(bestFit(cell.snap, c, cell.snap.slot(2)), 0.75, 'half full');
});

test('hybrid: packs, but penalises leaving cpu and ram free in different shares', () => {
  const cell = new TestCell().machine(1).machine(2);
  cell.place(1, { cpu: 3000, ramGiB: 1 }); // cpu-heavy: ram would strand
  cell.place(2, { cpu: 2000, ramGiB: 8 }); // balanced
  const c = cls(cell, { cpu: 500, ramGiB: 2 });
  const h1 = hybridFit(cell.snap, c, cell.snap.slot(1), 1);
  const h2 = hybridFit(cell.snap, c, cell.snap.slot(2), 1);
  // machine 1 after: cpu 0.875, ram 0.1875 -> pack 0.53125, stranded 0.6875
  close(h1, 0.53125 - HYBRID_BALANCE_WEIGHT * 0.6875, 'unbalanced');
  // machine 2 after: cpu 0.625, ram 0.625 -> pack 0.625, stranded 0
  close(h2, 0.625, 'balanced');
  // best fit would prefer neither strongly; hybrid clearly prefers the balanced machine.
  assert.ok(h2 > h1);
  // The workload shape scales ram: with ram filling twice as fast, free ram counts half.
  close(hybridFit(cell.snap, c, cell.snap.slot(2), 2), 0.625 - HYBRID_BALANCE_WEIGHT * Math.abs(0.375 - 0.375 / 2), 'shape 2');
});

test('spreading: fewer tasks of the job on the machine and in its rack is better', () => {
  const cell = new TestCell().machine(1, { rack: 'a' }).machine(2, { rack: 'a' }).machine(3, { rack: 'b' });
  cell.place(1, { job: 'web' });
  cell.place(1, { job: 'other' });
  const c = cls(cell, { job: 'web' });
  close(domainSpreading(cell.snap, c, cell.snap.slot(1)), 0.6 / 2 + 0.4 / 2, 'same machine');
  close(domainSpreading(cell.snap, c, cell.snap.slot(2)), 0.6 + 0.4 / 2, 'same rack');
  close(domainSpreading(cell.snap, c, cell.snap.slot(3)), 1, 'elsewhere');
});

test('mixing: prod prefers machines with non-prod load, non-prod prefers prod limits', () => {
  const cell = new TestCell().machine(1).machine(2);
  cell.place(1, { cpu: 2000, priority: 100 });
  cell.place(2, { cpu: 1000, priority: 200 });
  const prod = cls(cell, { priority: 200 });
  const batch = cls(cell, { priority: 100 });
  close(prodMixing(cell.snap, prod, cell.snap.slot(1)), 0.5, 'prod on batch machine');
  close(prodMixing(cell.snap, prod, cell.snap.slot(2)), 0, 'prod on prod machine');
  close(prodMixing(cell.snap, batch, cell.snap.slot(1)), 0, 'batch on batch machine');
  close(prodMixing(cell.snap, batch, cell.snap.slot(2)), 0.25, 'batch on prod machine');
});

test('preemption cost: none without victims; fewer and lower victims cost less; any eviction outweighs fit', () => {
  const rows: [number, number, number][] = [
    [0, 0, 0],
    [1, 0, PREEMPTION_BASE_COST + 0.25],
    [1, 100, PREEMPTION_BASE_COST + 0.25 + 0.1],
    [2, 0, PREEMPTION_BASE_COST + 0.5],
  ];
  for (const [n, prio, want] of rows) close(preemptionCost(n, prio), want, `${n} victims, priority sum ${prio}`);
  assert.ok(preemptionCost(1, 100) < preemptionCost(2, 0) && preemptionCost(1, 0) < preemptionCost(1, 100));
  // Fit spans at most 1 + HYBRID_BALANCE_WEIGHT, spreading 0.1, mixing 0.05: all below the base cost.
  assert.ok(PREEMPTION_BASE_COST > 1 + HYBRID_BALANCE_WEIGHT + 0.1 + 0.05);
});

test('policies choose differently on the same cell', () => {
  for (const [policy, want] of [
    ['worst', 1],
    ['best', 2],
  ] as const) {
    const cell = new TestCell().machine(1).machine(2);
    cell.place(2, { cpu: 2000, ramGiB: 8, job: 'x' });
    cell.submit({ cpu: 1000, ramGiB: 4 });
    const plan = cell.scheduler({ policy, relaxedRandomization: false }).schedulePass(cell.snap, cell.queue);
    assert.equal(plan.assignments[0]?.machineId, want, policy);
  }
  const cell = new TestCell().machine(1).machine(2);
  cell.place(1, { cpu: 3000, ramGiB: 1, job: 'x' });
  cell.place(2, { cpu: 2000, ramGiB: 8, job: 'y' });
  cell.submit({ cpu: 500, ramGiB: 2 });
  const plan = cell.scheduler({ policy: 'hybrid', relaxedRandomization: false }).schedulePass(cell.snap, cell.queue);
  assert.equal(plan.assignments[0]?.machineId, 2, 'hybrid keeps machine 1 from stranding its ram');
});
