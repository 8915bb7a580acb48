// The cell snapshot: accounting per dimension, generations, small changes ignored, freed log, removals.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GiB } from '../model/resources';
import { AlreadyExists, InvalidArgument, NotFound } from '../model/errors';
import fc from 'fast-check';
import { TestCell } from './testing';
import { DIMS, RESERVATION_QUANTUM_FRACTION } from './snapshot';
import { MACHINE_DRAINING, MACHINE_UP, type SchedTask } from './types';

test('placing and removing keeps reservation and prod-limit sums exact', () => {
  const cell = new TestCell().machine(1, { cpu: 8000, ramGiB: 32 });
  const s = cell.snap;
  const m = s.slot(1);
  const prod = cell.place(1, { cpu: 2000, ramGiB: 4, priority: 200 });
  const batch = cell.place(1, { cpu: 1000, ramGiB: 2, priority: 100 });
  s.updateReservation(prod.id, { cpuMillis: 500, ramBytes: 1 * GiB, diskBytes: 0, ports: 0 });
  assert.deepEqual([s.resAll[m * DIMS], s.prodLimit[m * DIMS], s.prodRes[m * DIMS]], [1500, 2000, 500]);
  assert.deepEqual(s.placedReservation(prod.id), { cpuMillis: 500, ramBytes: 1 * GiB, diskBytes: 0, ports: 0 });
  s.removeTask(batch.id);
  assert.deepEqual([s.resAll[m * DIMS], s.prodLimit[m * DIMS]], [500, 2000]);
  s.removeTask(prod.id);
  assert.deepEqual(Array.from(s.resAll.subarray(m * DIMS, m * DIMS + DIMS)), [0, 0, 0, 0]);
  assert.equal(s.placedTasks(), 0);
});

test('generation bumps on changes that matter, not on small reservation drifts', () => {
  const cell = new TestCell().machine(1, { cpu: 64_000, ramGiB: 64 });
  const s = cell.snap;
  let g = s.machineGeneration(1);
  const t = cell.place(1, { cpu: 8000, ramGiB: 8 });
  assert.ok(s.machineGeneration(1) > g, 'place bumps');
  g = s.machineGeneration(1);
  const small = Math.floor(64_000 * RESERVATION_QUANTUM_FRACTION) - 1;
  s.updateReservation(t.id, { ...t.limit, cpuMillis: 8000 - small });
  assert.equal(s.machineGeneration(1), g, 'a drift under the quantum does not bump');
  s.updateReservation(t.id, { ...t.limit, cpuMillis: 1000 });
  assert.ok(s.machineGeneration(1) > g, 'a material change bumps');
  g = s.machineGeneration(1);
  s.setMachineState(1, MACHINE_DRAINING);
  assert.ok(s.machineGeneration(1) > g, 'state change bumps');
});

test('the freed log names machines that gained room', () => {
  const cell = new TestCell().machine(1).machine(2);
  const s = cell.snap;
  const t = cell.place(2);
  const seq = s.freedSeq;
  s.removeTask(t.id);
  assert.equal(s.freedSeq, seq + 1);
  assert.equal(s.freedLog[seq], s.slot(2));
  s.setMachineState(1, MACHINE_DRAINING);
  assert.equal(s.freedSeq, seq + 1, 'draining frees nothing');
  s.setMachineState(1, MACHINE_UP);
  assert.equal(s.freedLog[seq + 1], s.slot(1));
});

test('removing a machine returns its tasks; slots are reused; bad input is refused precisely', () => {
  const cell = new TestCell().machine(1).machine(2);
  const s = cell.snap;
  const a = cell.place(1);
  const b = cell.place(1);
  const orphans = s.removeMachine(1);
  assert.deepEqual(orphans.map((t) => t.id).sort(), [a.id, b.id].sort());
  assert.equal(s.liveMachines, 1);
  assert.throws(() => s.slot(1), NotFound);
  cell.machine(3);
  assert.equal(s.slot(3), 0, 'the freed slot is reused');
  assert.throws(() => cell.machine(3), AlreadyExists);
  assert.throws(() => s.placeTask(a, 99), NotFound);
  s.placeTask(a, 3);
  assert.throws(() => s.placeTask(a, 2), AlreadyExists);
  assert.throws(() => s.updateReservation(a.id, { ...a.limit, cpuMillis: a.limit.cpuMillis + 1 }), InvalidArgument);
  assert.throws(() => s.addMachine({ id: 7, capacity: { cpuMillis: -1, ramBytes: 0, diskBytes: 0, ports: 0 }, attributes: [], rack: 0, powerDomain: 0, state: MACHINE_UP }), /machine.capacity.cpuMillis/);
});

test('machine updates move spread counts with the rack', () => {
  const cell = new TestCell().machine(1, { rack: 'a' });
  const s = cell.snap;
  const t = cell.place(1, { job: 'web' });
  const rackA = s.racks.id('a');
  const rackB = s.racks.id('b');
  assert.equal(s.jobPerRack.get(t.job, rackA), 1);
  assert.equal(s.jobTasksInPowerDomain(t.job, s.slot(1)), 1, 'counted from the placed tasks when first asked for');
  s.updateMachine({ id: 1, capacity: { cpuMillis: 4000, ramBytes: 16 * GiB, diskBytes: 0, ports: 0 }, attributes: [], rack: rackB, powerDomain: s.powerDomains.id('p0'), state: MACHINE_UP });
  assert.equal(s.jobPerRack.get(t.job, rackA), 0);
  assert.equal(s.jobPerRack.get(t.job, rackB), 1);
});

test('preemptAndPlace refuses bad victims and a placed task before changing anything', () => {
  const cell = new TestCell().machine(1, { cpu: 4000, ramGiB: 8 }).machine(2, { cpu: 4000, ramGiB: 8 });
  const s = cell.snap;
  const low = cell.place(1, { cpu: 3000, ramGiB: 2, priority: 0 });
  const other = cell.place(2, { cpu: 1000, ramGiB: 1, priority: 0 });
  const high = cell.task({ cpu: 2000, ramGiB: 2, priority: 200 });
  const before = { gen: s.machineGeneration(1), freed: s.freedSeq, placed: s.placedTasks(), res: Array.from(s.resAll) };
  assert.throws(() => s.preemptAndPlace([999_999], high, 1), NotFound);
  assert.throws(() => s.preemptAndPlace([other.id], high, 1), /is not on machine 1/);
  assert.throws(() => s.preemptAndPlace([low.id, low.id], high, 1), /named twice/);
  assert.throws(() => s.preemptAndPlace([low.id], low, 1), AlreadyExists);
  assert.deepEqual({ gen: s.machineGeneration(1), freed: s.freedSeq, placed: s.placedTasks(), res: Array.from(s.resAll) }, before);
  // The valid change evicts, places, and hands the victim back.
  assert.deepEqual(s.preemptAndPlace([low.id], high, 1).map((t) => t.id), [low.id]);
  assert.equal(s.machineOfTask(high.id), 1);
  assert.equal(s.isPlaced(low.id), false);
});

test('property: jobTasksOn counts exactly the tasks of a job on a machine, with 80 jobs over 2 machines, after any changes', () => {
  // 80 jobs share a machine's 32 bins, so bins hold several jobs, and removals leave bins with one task of either.
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 1, max: 2 }), fc.integer({ min: 0, max: 79 }), fc.nat()), { minLength: 100, maxLength: 300 }), (ops) => {
      const cell = new TestCell();
      for (let m = 1; m <= 2; m++) cell.machine(m, { cpu: 1_000_000, ramGiB: 1024 });
      const placed: SchedTask[] = [];
      for (const [add, machine, job, pick] of ops) {
        if (add) placed.push(cell.place(machine, { job: `j${job}`, cpu: 10, ramGiB: 0.01 }));
        else if (placed.length > 0) cell.snap.removeTask((placed.splice(pick % placed.length, 1)[0] as SchedTask).id);
      }
      const s = cell.snap;
      for (let job = 0; job < 80; job++) {
        const id = s.jobs.id(`u/j${job}`);
        for (let m = 1; m <= 2; m++) {
          const want = placed.filter((t) => t.job === id && s.machineOfTask(t.id) === m).length;
          assert.equal(s.jobTasksOn(id, s.slot(m)), want, `job ${job} on machine ${m}`);
        }
      }
    }),
    { numRuns: 300 },
  );
});

test('the tables of placed tasks grow together, to the capacity, not one by one as they are written', () => {
  const cell = new TestCell().machine(1, { cpu: 1_000_000, ramGiB: 1024 }).machine(2, { cpu: 1_000_000, ramGiB: 1024 });
  const s = cell.snap;
  const tasks: SchedTask[] = [];
  for (let i = 0; i < 1024; i++) tasks.push(cell.place(1 + (i % 2), { cpu: 10, ramGiB: 0.01 }));
  assert.equal(s.taskSlotCapacity, 1024);
  assert.equal(s.tTask.length, 1024, 'the task references are sized like the typed arrays');
  tasks.push(cell.place(1, { cpu: 10, ramGiB: 0.01 }));
  assert.equal(s.taskSlotCapacity, 2048, 'capacity doubles');
  assert.equal(s.tTask.length, 2048, 'and the references grow with it, at once');
  for (const t of tasks) assert.ok(s.isPlaced(t.id));
  let n = 0;
  s.forEachPlaced(() => n++);
  assert.equal(n, 1025);
});
