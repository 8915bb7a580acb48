// Table tests for every feasibility filter: exact reason codes per machine, and the why-pending line they add up to.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TestCell, type MachineDesc, type TaskDesc } from '../testing';
import { TaskClass } from '../task_class';
import { REASON_SLOTS } from '../reasons';
import { MACHINE_DOWN, MACHINE_DRAINING, OP_EQ, OP_EXISTS, OP_IN, OP_NE, OP_NOT_EXISTS, planVerdicts } from '../types';
import { machineStateFilter, CODE_MACHINE_DOWN, CODE_MACHINE_DRAINING } from './machine_state';
import { resourcesFilter, CODE_INSUFFICIENT_CPU, CODE_INSUFFICIENT_RAM, CODE_INSUFFICIENT_DISK } from './resources';
import { portsFilter, CODE_INSUFFICIENT_PORTS } from './ports';
import { constraintsFilter, constraintText, CONSTRAINT_REASON_BASE } from './constraints';
import { spreadFilter, CODE_SPREAD_MACHINE, CODE_SPREAD_POWER, CODE_SPREAD_RACK } from './spread';
import { avoidFilter, CODE_AVOIDED_PAIRING } from './avoid';
import { availableWithPreemption, fitsFree } from '../charged';

function cls(cell: TestCell, d: TaskDesc): TaskClass {
  const c = new TaskClass('k', cell.task(d), REASON_SLOTS, 8);
  c.refreshColumns(cell.snap);
  return c;
}

test('machine state filter', () => {
  const rows: [number, number][] = [
    [1, 0],
    [MACHINE_DRAINING, CODE_MACHINE_DRAINING],
    [MACHINE_DOWN, CODE_MACHINE_DOWN],
  ];
  for (const [state, want] of rows) assert.equal(machineStateFilter(state), want, `state ${state}`);
});

test('resources and ports filters: prod is charged limits of prod, non-prod reservations; preemptible room counts', () => {
  type Row = { name: string; machine: MachineDesc; running: TaskDesc[]; reservations?: number[]; task: TaskDesc; free: boolean; want: number };
  const rows: Row[] = [
    { name: 'fits empty', machine: { cpu: 4000, ramGiB: 8 }, running: [], task: { cpu: 4000, ramGiB: 8 }, free: true, want: 0 },
    { name: 'cpu short', machine: { cpu: 4000, ramGiB: 8 }, running: [{ cpu: 3500, priority: 200 }], task: { cpu: 1000 }, free: false, want: CODE_INSUFFICIENT_CPU },
    { name: 'ram short', machine: { cpu: 4000, ramGiB: 8 }, running: [{ ramGiB: 7.5, priority: 200 }], task: { ramGiB: 1 }, free: false, want: CODE_INSUFFICIENT_RAM },
    { name: 'disk short', machine: { disk: 100 }, running: [], task: { disk: 101 }, free: false, want: CODE_INSUFFICIENT_DISK },
    { name: 'prod may evict non-prod', machine: { cpu: 4000 }, running: [{ cpu: 4000, priority: 100 }], task: { cpu: 2000, priority: 200 }, free: false, want: 0 },
    { name: 'prod never evicts prod', machine: { cpu: 4000 }, running: [{ cpu: 4000, priority: 120 }], task: { cpu: 2000, priority: 300 }, free: false, want: CODE_INSUFFICIENT_CPU },
    { name: 'batch evicts free', machine: { cpu: 4000 }, running: [{ cpu: 4000, priority: 0 }], task: { cpu: 1000, priority: 100 }, free: false, want: 0 },
    { name: 'batch cannot evict equal batch', machine: { cpu: 4000 }, running: [{ cpu: 4000, priority: 100 }], task: { cpu: 1000, priority: 100 }, free: false, want: CODE_INSUFFICIENT_CPU },
    { name: 'batch evicts lower batch', machine: { cpu: 4000 }, running: [{ cpu: 4000, priority: 104 }, { cpu: 0, priority: 110 }], task: { cpu: 1000, priority: 106 }, free: false, want: 0 },
    // Reclaimed resources: a prod task reserving 1 core of its 4-core limit leaves 3 cores to non-prod, none to prod.
    { name: 'non-prod uses reclaimed prod room', machine: { cpu: 4000 }, running: [{ cpu: 4000, priority: 200 }], reservations: [1000], task: { cpu: 3000, priority: 100 }, free: true, want: 0 },
    { name: 'prod does not use reclaimed room', machine: { cpu: 4000 }, running: [{ cpu: 4000, priority: 200 }], reservations: [1000], task: { cpu: 1000, priority: 200 }, free: false, want: CODE_INSUFFICIENT_CPU },
    { name: 'ports short', machine: { ports: 2 }, running: [{ ports: 2, priority: 200 }], task: { ports: 1 }, free: false, want: CODE_INSUFFICIENT_PORTS },
    { name: 'ports freed by eviction', machine: { ports: 2 }, running: [{ ports: 2, priority: 100 }], task: { ports: 1, priority: 200 }, free: false, want: 0 },
  ];
  for (const r of rows) {
    const cell = new TestCell().machine(1, r.machine);
    r.running.forEach((d, i) => {
      const t = cell.place(1, d);
      const res = r.reservations?.[i];
      if (res !== undefined) cell.snap.updateReservation(t.id, { ...t.limit, cpuMillis: res });
    });
    const c = cls(cell, r.task);
    const m = cell.snap.slot(1);
    assert.equal(fitsFree(cell.snap, c, m), r.free, `${r.name}: fitsFree`);
    const avail = new Float64Array(4);
    availableWithPreemption(cell.snap, c, m, avail);
    const got = resourcesFilter(c, avail) || portsFilter(c, avail);
    assert.equal(got, r.want, r.name);
  }
});

test('constraints filter: =, !=, in, exists, !exists', () => {
  const cell = new TestCell().machine(1, { attrs: { arch: 'x86', zone: 'a' } }).machine(2, { attrs: { arch: 'arm64' } }).machine(3);
  const rows: [string, TaskDesc['constraints'], number[]][] = [
    ['arch=x86', [['arch', OP_EQ, 'x86']], [0, CONSTRAINT_REASON_BASE, CONSTRAINT_REASON_BASE]],
    ['arch!=x86', [['arch', OP_NE, 'x86']], [CONSTRAINT_REASON_BASE, 0, 0]],
    ['arch in (arm64,riscv)', [['arch', OP_IN, 'arm64', 'riscv']], [CONSTRAINT_REASON_BASE, 0, CONSTRAINT_REASON_BASE]],
    ['zone exists', [['zone', OP_EXISTS]], [0, CONSTRAINT_REASON_BASE, CONSTRAINT_REASON_BASE]],
    ['zone !exists', [['zone', OP_NOT_EXISTS]], [CONSTRAINT_REASON_BASE, 0, 0]],
    ['second constraint fails', [['arch', OP_EXISTS], ['zone', OP_EQ, 'b']], [CONSTRAINT_REASON_BASE + 1, CONSTRAINT_REASON_BASE + 1, CONSTRAINT_REASON_BASE]],
    ['unknown value matches nothing', [['arch', OP_EQ, 'sparc']], [CONSTRAINT_REASON_BASE, CONSTRAINT_REASON_BASE, CONSTRAINT_REASON_BASE]],
  ];
  for (const [name, constraints, want] of rows) {
    const c = cls(cell, { constraints });
    const got = [1, 2, 3].map((id) => constraintsFilter(c, cell.snap.slot(id)));
    assert.deepEqual(got, want, name);
  }
  const c = cls(cell, { constraints: [['arch', OP_EQ, 'arm64'], ['zone', OP_IN, 'a', 'b'], ['gpu', OP_EXISTS], ['gpu', OP_NOT_EXISTS], ['arch', OP_NE, 'x86']] });
  assert.deepEqual(
    [0, 1, 2, 3, 4].map((i) => constraintText(cell.snap, c, i)),
    ['constraint arch=arm64', 'constraint zone in (a,b)', 'constraint gpu exists', 'constraint gpu !exists', 'constraint arch!=x86'],
  );
});

test('spread filter: per machine, rack and power domain', () => {
  const cell = new TestCell()
    .machine(1, { rack: 'r1', power: 'p1' })
    .machine(2, { rack: 'r1', power: 'p1' })
    .machine(3, { rack: 'r2', power: 'p1' })
    .machine(4, { rack: 'r3', power: 'p2' });
  cell.place(1, { job: 'web' });
  cell.place(3, { job: 'web' });
  cell.place(4, { job: 'other' });
  const rows: [string, TaskDesc['spread'], number[]][] = [
    ['1 per machine', { maxPerMachine: 1 }, [CODE_SPREAD_MACHINE, 0, CODE_SPREAD_MACHINE, 0]],
    ['1 per rack', { maxPerRack: 1 }, [CODE_SPREAD_RACK, CODE_SPREAD_RACK, CODE_SPREAD_RACK, 0]],
    ['2 per power domain', { maxPerPowerDomain: 2 }, [CODE_SPREAD_POWER, CODE_SPREAD_POWER, CODE_SPREAD_POWER, 0]],
    ['3 per power domain', { maxPerPowerDomain: 3 }, [0, 0, 0, 0]],
    ['unlimited', {}, [0, 0, 0, 0]],
  ];
  for (const [name, spread, want] of rows) {
    const c = cls(cell, { job: 'web', spread });
    assert.deepEqual([1, 2, 3, 4].map((id) => spreadFilter(cell.snap, c, cell.snap.slot(id))), want, name);
  }
  // The counts per power domain, made from the placed tasks when first asked for above, follow later changes.
  const third = cell.place(2, { job: 'web' });
  const perPower = cls(cell, { job: 'web', spread: { maxPerPowerDomain: 3 } });
  assert.deepEqual([1, 2, 3, 4].map((id) => spreadFilter(cell.snap, perPower, cell.snap.slot(id))), [CODE_SPREAD_POWER, CODE_SPREAD_POWER, CODE_SPREAD_POWER, 0]);
  cell.snap.removeTask(third.id);
  assert.deepEqual([1, 2, 3, 4].map((id) => spreadFilter(cell.snap, perPower, cell.snap.slot(id))), [0, 0, 0, 0]);
});

test('avoid filter: a pairing holds until it expires', () => {
  const cell = new TestCell().machine(1).machine(2);
  const t = cell.task();
  cell.snap.avoidPairing(t.id, 1, 5_000);
  assert.equal(avoidFilter(cell.snap, t.id, cell.snap.slot(1), 4_999), CODE_AVOIDED_PAIRING);
  assert.equal(avoidFilter(cell.snap, t.id, cell.snap.slot(1), 5_000), 0);
  assert.equal(avoidFilter(cell.snap, t.id, cell.snap.slot(2), 0), 0);
  assert.equal(avoidFilter(cell.snap, t.id + 1, cell.snap.slot(1), 0), 0);
});

test('why pending: one reason per machine, largest count first, ties in reason order', () => {
  const cell = new TestCell()
    .machine(1, { cpu: 8000, ramGiB: 2 })
    .machine(2, { cpu: 8000, ramGiB: 2 })
    .machine(3, { cpu: 1000, ramGiB: 64 })
    .machine(4, { cpu: 8000, ramGiB: 64, attrs: { arch: 'x86' } })
    .machine(5, { state: MACHINE_DRAINING })
    .machine(6, { state: MACHINE_DOWN });
  const t = cell.submit({ cpu: 4000, ramGiB: 8, constraints: [['arch', OP_EQ, 'arm64']] });
  const plan = cell.scheduler().schedulePass(cell.snap, cell.queue);
  assert.deepEqual(planVerdicts(plan), [{ taskId: t.id, why: '0/6 machines feasible: 2 insufficient ram, 1 machine down, 1 machine draining, 1 insufficient cpu, 1 constraint arch=arm64' }]);
  assert.equal(plan.assignments.length, 0);
});
