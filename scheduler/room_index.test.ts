// The room index against brute force: buckets order amounts strictly, every machine's cell matches its room after
// any sequence of changes, a query's superset holds every machine whose room bound fits and its counts name the
// reason preemptionShortfall gives for the rest; preemptionShortfall agrees with the exact preemptible vector;
// TopK keeps what a sort would.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { canPreempt, FREE_MAX, isProd } from '../model/priority';
import { TestCell } from './testing';
import { TaskClass } from './task_class';
import { REASON_SLOTS } from './reasons';
import { DIMS, NO_NONPROD_PRIORITY, type CellSnapshot } from './snapshot';
import { fitsFree } from './charged';
import { CODE_INSUFFICIENT_CPU, CODE_INSUFFICIENT_RAM, FIT_UNKNOWN, preemptionShortfall, resourcesFilter } from './filters/resources';
import { portsFilter } from './filters/ports';
import { bucketOf, cpuBucket, ramBucket, roomKindOf, ROOM_ABOVE_LOWEST, ROOM_FREE, ROOM_FREE_BAND, ROOM_KINDS, ROOM_NON_PROD, ROOM_PROD, ROOM_RAM_BUCKETS, type RoomShortCounts } from './room_index';
import { TopK } from './top_k';
import { MACHINE_DOWN, MACHINE_DRAINING, MACHINE_UP } from './types';

test('buckets: a lower bucket means a strictly smaller amount, a higher one a strictly larger', () => {
  fc.assert(
    fc.property(fc.double({ min: -10, max: 2 ** 33, noNaN: true }), fc.double({ min: -10, max: 2 ** 33, noNaN: true }), (a, q) => {
      const ba = bucketOf(a, 40);
      const bq = bucketOf(q, 40);
      if (ba < bq) assert.ok(a < q, `${a} in bucket ${ba} below ${q} in ${bq}`);
      if (ba > bq) assert.ok(a > q, `${a} in bucket ${ba} above ${q} in ${bq}`);
    }),
    { numRuns: 2000, seed: 3 },
  );
  const rows: [number, number][] = [
    [-5, 0],
    [0, 0],
    [0.5, 0],
    [1, 1],
    [2, 3],
    [3, 4],
    [4, 5],
    [6, 6],
    [8, 7],
    [2 ** 40, 39],
  ];
  for (const [amount, want] of rows) assert.equal(bucketOf(amount, 40), want, `bucketOf(${amount})`);
});

test('room kinds by priority', () => {
  const rows: [number, number][] = [
    [0, ROOM_FREE],
    [1, ROOM_ABOVE_LOWEST],
    [2, ROOM_FREE_BAND],
    [99, ROOM_FREE_BAND],
    [100, ROOM_FREE_BAND],
    [101, ROOM_NON_PROD],
    [119, ROOM_NON_PROD],
    [120, ROOM_PROD],
    [360, ROOM_PROD],
  ];
  for (const [p, want] of rows) assert.equal(roomKindOf(p), want, `priority ${p}`);
});

/** roomBound recomputes, from the snapshot's sums, the (cpu, ram) room a kind's grid files slot m under. */
function roomBound(snap: CellSnapshot, kind: number, m: number): [number, number] {
  const b = m * DIMS;
  const cap = [snap.cap[b] as number, snap.cap[b + 1] as number];
  const sub = (a: Float64Array, plus?: Float64Array): [number, number] => [0, 1].map((d) => (cap[d] as number) - (a[b + d] as number) + (plus ? (plus[b + d] as number) : 0)) as [number, number];
  switch (kind) {
    case ROOM_FREE:
      return sub(snap.resAll);
    case ROOM_ABOVE_LOWEST:
      return sub(snap.resAll, snap.lowestRes);
    case ROOM_FREE_BAND:
      return sub(snap.resAll, snap.freeBandRes);
    case ROOM_NON_PROD:
      return sub(snap.prodRes);
    default:
      return sub(snap.prodLimit);
  }
}

interface Op {
  kind: 'place' | 'remove' | 'state' | 'reserve' | 'preempt';
  machine: number;
  priority: number;
  cpu: number;
  ramGiB: number;
  pick: number;
  state: number;
}

const opArb: fc.Arbitrary<Op> = fc.record({
  kind: fc.constantFrom<Op['kind']>('place', 'place', 'place', 'remove', 'state', 'reserve', 'preempt'),
  machine: fc.integer({ min: 1, max: 10 }),
  priority: fc.constantFrom(0, 1, 50, 100, 104, 110, 200, 360),
  cpu: fc.integer({ min: 0, max: 6000 }),
  ramGiB: fc.integer({ min: 0, max: 12 }),
  pick: fc.nat(),
  state: fc.constantFrom(MACHINE_UP, MACHINE_UP, MACHINE_DRAINING, MACHINE_DOWN),
});

/** applyOps builds a cell of 10 machines of mixed sizes and applies the operations (oversubscription allowed: the snapshot mirrors the master). */
function applyOps(ops: Op[]): { cell: TestCell; placed: number[] } {
  const cell = new TestCell();
  for (let i = 1; i <= 10; i++) cell.machine(i, { cpu: 2000 * (1 + (i % 4)), ramGiB: 4 * (1 + (i % 3)), ports: 10, disk: 1000 });
  const placed: number[] = [];
  for (const op of ops) {
    if (op.kind === 'place') placed.push(cell.place(op.machine, { priority: op.priority, cpu: op.cpu, ramGiB: op.ramGiB }).id);
    else if (op.kind === 'remove' && placed.length > 0) cell.snap.removeTask(placed.splice(op.pick % placed.length, 1)[0] as number);
    else if (op.kind === 'state') cell.snap.setMachineState(op.machine, op.state as 1 | 2 | 3);
    else if (op.kind === 'reserve' && placed.length > 0) {
      const id = placed[op.pick % placed.length] as number;
      const r = cell.snap.placedReservation(id);
      if (r !== undefined) cell.snap.updateReservation(id, { ...r, cpuMillis: Math.floor(r.cpuMillis / 2) });
    } else if (op.kind === 'preempt' && placed.length > 0) {
      // Evict one or two tasks of a machine and place a new one there, as one change (one room-index move).
      const first = placed[op.pick % placed.length] as number;
      const machine = cell.snap.machineOfTask(first);
      const victims = placed.filter((id) => cell.snap.machineOfTask(id) === machine).slice(0, 1 + (op.pick % 2));
      for (const v of victims) placed.splice(placed.indexOf(v), 1);
      const t = cell.task({ priority: op.priority, cpu: op.cpu, ramGiB: op.ramGiB });
      cell.snap.preemptAndPlace(victims, t, machine);
      placed.push(t.id);
    }
  }
  return { cell, placed };
}

test('property: every UP machine sits in the cell of its current room, in every grid, after any changes', () => {
  fc.assert(
    fc.property(fc.array(opArb, { maxLength: 60 }), (ops) => {
      const { cell } = applyOps(ops);
      const snap = cell.snap;
      for (let m = 0; m < snap.slotCount; m++) {
        for (let kind = 0; kind < ROOM_KINDS; kind++) {
          const got = snap.rooms.cellOfSlot(kind, m);
          if (snap.state[m] !== MACHINE_UP) {
            assert.equal(got, -1, `slot ${m} not UP but indexed in grid ${kind}`);
            continue;
          }
          const [cpu, ram] = roomBound(snap, kind, m);
          assert.equal(got, cpuBucket(cpu) * ROOM_RAM_BUCKETS + ramBucket(ram), `slot ${m} grid ${kind}`);
        }
      }
    }),
    { numRuns: 200, seed: 5 },
  );
});

test('property: the lowest non-prod and batch priorities of every machine stay exact after any changes', () => {
  fc.assert(
    fc.property(fc.array(opArb, { minLength: 20, maxLength: 80 }), (ops) => {
      const { cell } = applyOps(ops);
      const snap = cell.snap;
      const lowest = new Map<number, [number, number]>();
      snap.forEachPlaced((t, machineId) => {
        const m = snap.slot(machineId);
        const [min, minBatch] = lowest.get(m) ?? [NO_NONPROD_PRIORITY, NO_NONPROD_PRIORITY];
        const p = t.priority;
        if (isProd(p)) return;
        lowest.set(m, [Math.min(min, p), p > FREE_MAX ? Math.min(minBatch, p) : minBatch]);
      });
      for (let m = 0; m < snap.slotCount; m++) {
        const [min, minBatch] = lowest.get(m) ?? [NO_NONPROD_PRIORITY, NO_NONPROD_PRIORITY];
        assert.equal(snap.minNonProdPriority[m], min, `slot ${m}: lowest non-prod priority`);
        assert.equal(snap.minBatchPriority[m], minBatch, `slot ${m}: lowest batch priority`);
      }
    }),
    { numRuns: 300 },
  );
});

const GiB = 1024 ** 3;

test('property: collectFreedSince is the superset filtered by freed-log stamp, less what is certainly short of ram, in the same order, after any changes', () => {
  fc.assert(
    fc.property(fc.array(opArb, { minLength: 20, maxLength: 60 }), fc.nat(), fc.integer({ min: 0, max: 6000 }), fc.integer({ min: 0, max: 12 }), (ops, since, cpu, ramGiB) => {
      const { cell } = applyOps(ops);
      const snap = cell.snap;
      const from = since % (snap.freedSeq + 2);
      for (let kind = 0; kind < ROOM_KINDS; kind++) {
        const size = snap.rooms.supersetSize(kind, cpu, ramGiB * GiB);
        const all = new Int32Array(size);
        snap.rooms.collect(kind, cpu, ramGiB * GiB, all, { cpuShort: 0, ramShort: 0 });
        const want = [...all].filter((m) => (snap.lastFreedSeq[m] as number) >= from && ramBucket(roomBound(snap, kind, m)[1]) >= ramBucket(ramGiB * GiB));
        const out = new Int32Array(size);
        const n = snap.rooms.collectFreedSince(kind, cpu, ramGiB * GiB, from, snap.lastFreedSeq, out);
        assert.deepEqual([...out.subarray(0, n)], want, `grid ${kind}, freed since ${from}`);
      }
    }),
    { numRuns: 200 },
  );
});

test('property: hasRoomAbove says whether some UP machine\'s room is a whole bucket above the request in both dimensions', () => {
  fc.assert(
    fc.property(fc.array(opArb, { minLength: 20, maxLength: 60 }), fc.integer({ min: 0, max: 6000 }), fc.integer({ min: 0, max: 12 }), (ops, cpu, ramGiB) => {
      const { cell } = applyOps(ops);
      const snap = cell.snap;
      for (let kind = 0; kind < ROOM_KINDS; kind++) {
        let want = false;
        for (let m = 0; m < snap.slotCount; m++) {
          if (snap.state[m] !== MACHINE_UP) continue;
          const [c, r] = roomBound(snap, kind, m);
          if (cpuBucket(c) > cpuBucket(cpu) && ramBucket(r) > ramBucket(ramGiB * GiB)) want = true;
        }
        assert.equal(snap.rooms.hasRoomAbove(kind, cpu, ramGiB * GiB), want, `grid ${kind}`);
      }
    }),
    { numRuns: 200 },
  );
});

test('property: a query holds every machine whose room bound fits, and counts the rest under the reason preemptionShortfall gives', () => {
  fc.assert(
    fc.property(fc.array(opArb, { maxLength: 60 }), fc.constantFrom(0, 1, 50, 100, 104, 110, 200, 360), fc.integer({ min: 0, max: 9000 }), fc.integer({ min: 0, max: 13 }), (ops, priority, cpu, ramGiB) => {
      const { cell } = applyOps(ops);
      const snap = cell.snap;
      const c = new TaskClass('k', cell.task({ priority, cpu, ramGiB }), REASON_SLOTS, 8);
      const out = new Int32Array(snap.slotCount);
      const short: RoomShortCounts = { cpuShort: 0, ramShort: 0 };
      const size = snap.rooms.supersetSize(c.roomKind, c.needCpu, c.needRam);
      const n = snap.rooms.collect(c.roomKind, c.needCpu, c.needRam, out, short);
      assert.equal(n, size, 'collect and supersetSize agree');
      assert.equal(snap.rooms.prepare(c.roomKind, c.needCpu, c.needRam), size, 'prepare and supersetSize agree');
      const collected = new Set(out.subarray(0, n));
      assert.deepEqual([...collected].sort((a, b) => a - b), Array.from({ length: n }, (_, i) => snap.rooms.member(i)).sort((a, b) => a - b), 'member lists the superset');
      if (n > 0) {
        const all = new Int32Array(n);
        snap.rooms.sampleEvenly(n, n, 0, all);
        assert.deepEqual(Array.from(all), Array.from({ length: n }, (_, i) => snap.rooms.member(i)), 'a sample of the whole superset is the superset in order');
        const few = new Int32Array(n);
        const count = 1 + (cpu % n);
        snap.rooms.sampleEvenly(n, count, 0.5, few);
        const picked = Array.from(few.subarray(0, count));
        assert.equal(new Set(picked).size, count, 'a systematic sample has no repeats');
        for (const m of picked) assert.ok(collected.has(m), 'a sample stays in the superset');
      }
      let up = 0;
      let cpuShort = 0;
      let ramShort = 0;
      for (let m = 0; m < snap.slotCount; m++) {
        if (snap.state[m] !== MACHINE_UP) continue;
        up++;
        const [bc, br] = roomBound(snap, c.roomKind, m);
        if (bc >= c.needCpu && br >= c.needRam) assert.ok(collected.has(m), `slot ${m} fits its bound but is not in the superset`);
        if (collected.has(m)) continue;
        // Outside the superset: never a plain fit, and the reason is the bound's first short dimension.
        assert.equal(fitsFree(snap, c, m), false, `slot ${m} outside the superset fits as it is`);
        const r = preemptionShortfall(snap, c, m);
        if (r === CODE_INSUFFICIENT_CPU) cpuShort++;
        else if (r === CODE_INSUFFICIENT_RAM) ramShort++;
        else assert.fail(`slot ${m} outside the superset: reason ${r}`);
      }
      assert.equal(n + short.cpuShort + short.ramShort, up, 'every UP machine is collected or counted');
      assert.deepEqual([short.cpuShort, short.ramShort], [cpuShort, ramShort], 'the grid counts what per-machine checks find');
    }),
    { numRuns: 300, seed: 9 },
  );
});

/**
 * bruteAvailable: what a candidate of `priority` could use on slot m after evicting everything it may, from the
 * machine's task list: prod is charged the limits of prod (and evicts all non-prod); non-prod the reservations
 * of every task it may not evict.
 */
function bruteAvailable(snap: CellSnapshot, priority: number, m: number): Float64Array {
  const out = new Float64Array(DIMS);
  for (let d = 0; d < DIMS; d++) out[d] = snap.cap[m * DIMS + d] as number;
  for (const t of snap.machineTasks[m] ?? []) {
    const p = snap.tPriority[t] as number;
    const charged = isProd(priority) ? (isProd(p) ? snap.tLimit : undefined) : canPreempt(priority, p) ? undefined : snap.tRes;
    if (charged === undefined) continue;
    for (let d = 0; d < DIMS; d++) out[d] = (out[d] as number) - (charged[t * DIMS + d] as number);
  }
  return out;
}

test('property: preemptionShortfall agrees with the exact preemptible vector wherever it answers', () => {
  fc.assert(
    fc.property(fc.array(opArb, { maxLength: 60 }), fc.constantFrom(0, 1, 50, 100, 104, 110, 200, 360), fc.integer({ min: 0, max: 9000 }), fc.integer({ min: 0, max: 13 }), fc.integer({ min: 0, max: 12 }), (ops, priority, cpu, ramGiB, ports) => {
      const { cell } = applyOps(ops);
      const snap = cell.snap;
      const c = new TaskClass('k', cell.task({ priority, cpu, ramGiB, ports }), REASON_SLOTS, 8);
      const need = [c.needCpu, c.needRam, c.needDisk, c.needPorts];
      for (let m = 0; m < snap.slotCount; m++) {
        if (snap.state[m] !== MACHINE_UP || fitsFree(snap, c, m)) continue;
        const r = preemptionShortfall(snap, c, m);
        const avail = bruteAvailable(snap, priority, m);
        const exact = resourcesFilter(c, avail) || portsFilter(c, avail);
        if (r === FIT_UNKNOWN) {
          assert.ok(!isProd(priority) && priority > 1, 'only classes that may evict part of the non-prod work need the exact vector');
          continue;
        }
        if (r === 0) assert.equal(exact, 0, `slot ${m}: fits after evictions, but the exact vector says ${exact}`);
        else {
          assert.notEqual(exact, 0, `slot ${m}: reason ${r}, but the exact vector fits`);
          // The named dimension really is short even after every eviction allowed.
          const d = r - CODE_INSUFFICIENT_CPU;
          assert.ok((need[d] as number) > (avail[d] as number), `slot ${m}: reason ${r} names a dimension that is not short`);
        }
      }
    }),
    { numRuns: 300, seed: 13 },
  );
});

test('property: TopK keeps the k best by score, ties to the lower slot, as a sort would', () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 20 }), fc.integer({ min: 0, max: 1000 })), { maxLength: 200 }), fc.integer({ min: 1, max: 16 }), (entries, k) => {
      const top = new TopK(4);
      top.reset(k);
      entries.forEach(([score, slot], i) => top.offer(i, score, slot));
      const got = Array.from({ length: top.size }, (_, i) => top.id(i)).sort((a, b) => a - b);
      const want = entries
        .map(([score, slot], i) => ({ score, slot, i }))
        .sort((a, b) => b.score - a.score || a.slot - b.slot || a.i - b.i)
        .slice(0, k);
      // Entries equal in score and slot are interchangeable; compare what was kept by (score, slot).
      const key = (i: number): string => `${(entries[i] as [number, number])[0]}/${(entries[i] as [number, number])[1]}`;
      assert.deepEqual(got.map(key).sort(), want.map((e) => key(e.i)).sort());
    }),
    { numRuns: 300, seed: 17 },
  );
});
