// Compaction method on small synthetic cells whose answer is known exactly, plus the experiment transforms.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GiB } from '../../model/resources';
import { VirtualClock } from '../../model/clock';
import { SeededRng } from '../../model/rng';
import type { WorkloadMachine, WorkloadTask } from '../workloads/types';
import { allowedPending, compact, fluidBound, machineOrder, pickyTasks, spreadBound, type CompactionOptions } from './compact';
import { bucketUp, experimentArms, splitByJob, variantTasks, DEFAULT_RESERVATION_MODEL } from './experiments';
import { percentile } from '../stats';
import { runJob, defaultContext } from './job';
import { hintFrom, jobsFor } from './index';

function machines(n: number, cores = 16, ramGiB = 64): WorkloadMachine[] {
  return Array.from({ length: n }, (_, i) => ({
    name: `m${i}`,
    capacity: { cpuMillis: cores * 1000, ramBytes: ramGiB * GiB, diskBytes: 1000 * GiB, ports: 1000 },
    attributes: {},
    rack: `r${Math.floor(i / 4)}`,
    powerDomain: 'p0',
  }));
}

function tasks(n: number, job: string, priority: number, cpuMillis: number, ramGiB: number): WorkloadTask[] {
  return Array.from({ length: n }, (_, i) => ({
    job,
    user: 'u',
    index: i,
    priority,
    limit: { cpuMillis, ramBytes: ramGiB * GiB, diskBytes: 0, ports: 0 },
    constraints: [],
    spread: { maxPerMachine: 0, maxPerRack: 0, maxPerPowerDomain: 0 },
    submitMs: 0,
  }));
}

const PROD = 200;
const BATCH = 100;
const exact = (pool: number, seed = 1, allowed = 0): CompactionOptions => ({ policy: 'hybrid', seed, poolMachines: pool, allowedPending: allowed, resolutionMachines: 1, feasibleLimit: 64 });
const clock = new VirtualClock(0);

test('a workload that needs exactly N machines compacts to N, under every policy and seed', () => {
  const cases: { name: string; ts: WorkloadTask[]; want: number; fluid: number }[] = [
    { name: 'cpu-bound, machines full', ts: tasks(7, 'full', BATCH, 16_000, 8), want: 7, fluid: 7 },
    { name: 'one per machine, half-empty', ts: tasks(10, 'big', BATCH, 9_000, 8), want: 10, fluid: 90 / 16 },
    { name: 'four quarter tasks per machine', ts: tasks(24, 'q', PROD, 4_000, 16), want: 6, fluid: 6 },
    { name: 'mixed sizes that tile', ts: [...tasks(5, 'a', PROD, 12_000, 48), ...tasks(5, 'b', BATCH, 4_000, 16)], want: 5, fluid: 5 },
  ];
  for (const c of cases) {
    const ms = machines(20);
    assert.equal(fluidBound(ms, c.ts).machines, c.fluid, c.name);
    for (const policy of ['worst', 'best', 'hybrid'] as const) {
      for (const seed of [1, 2, 3]) {
        const r = compact(ms, c.ts, { ...exact(20, seed), policy }, clock);
        assert.equal(r.fits, true, `${c.name} ${policy} ${seed}`);
        assert.equal(r.machines, c.want, `${c.name} ${policy} seed ${seed}`);
        assert.equal(r.atSize.pending, 0);
      }
    }
  }
});

test('a workload that fits only when shared: 4 machines shared, 8 segregated', () => {
  // prod is cpu-heavy and non-prod ram-heavy: one of each fills a machine, two of a kind never fit together.
  const ms = machines(12);
  const ts = [...tasks(4, 'cpu', PROD, 12_000, 8), ...tasks(4, 'ram', BATCH, 2_000, 48)];
  const v = experimentArms('sharing');
  const [shared, segregated] = v;
  assert.ok(shared !== undefined && segregated !== undefined);
  const size = (variants: typeof shared.variants): number =>
    variants.reduce((sum, variant) => sum + compact(ms, variantTasks(ts, { ...variant, accounting: 'limits' }, DEFAULT_RESERVATION_MODEL), exact(12), clock).machines, 0);
  assert.equal(size(shared.variants), 4);
  assert.equal(size(segregated.variants), 8);
});

test('a workload larger than the cell grows into clones of its machines', () => {
  const ms = machines(3);
  const r = compact(ms, tasks(5, 'big', BATCH, 9_000, 8), exact(6), clock);
  assert.deepEqual([r.fits, r.machines], [true, 5]);
  const tooBig = compact(ms, tasks(8, 'big', BATCH, 9_000, 8), exact(6), clock);
  assert.deepEqual([tooBig.fits, tooBig.machines], [false, 6]);
  const order = machineOrder(ms, 7, new SeededRng(1));
  assert.equal(new Set(order.map((m) => m.name)).size, 7);
  assert.equal(order.filter((m) => m.name.includes('~clone')).length, 4);
});

test('picky tasks (fit nowhere on the full cell) may stay pending; others may not', () => {
  const ms = machines(10);
  const ts = [...tasks(6, 'full', BATCH, 16_000, 8), ...tasks(1, 'huge', BATCH, 32_000, 8)];
  const picky = pickyTasks(ms, ts);
  assert.equal(picky, 1);
  const r = compact(ms, ts, exact(10, 1, allowedPending(ts.length, picky)), clock);
  assert.deepEqual([r.fits, r.machines, r.atSize.pending], [true, 6, 1]);
  // one-per-machine jobs with more tasks than hosts: the excess is picky
  const spread = tasks(12, 'spread', PROD, 1000, 1).map((t) => ({ ...t, spread: { ...t.spread, maxPerMachine: 1 } }));
  assert.equal(pickyTasks(ms, spread), 2);
  // a constraint no machine meets
  assert.equal(pickyTasks(ms, tasks(3, 'arm', BATCH, 1000, 1).map((t) => ({ ...t, constraints: [{ key: 'arch', op: '=' as const, values: ['arm'] }] }))), 3);
  // the allowance is 0.2% of the tasks or the picky count, whichever is larger
  assert.deepEqual([allowedPending(144_048, 0), allowedPending(1000, 5), allowedPending(100, 0)], [288, 5, 0]);
});

test('a search on an inexact resolution returns a size that fits, at most the resolution above the exact one', () => {
  const ms = machines(40);
  const ts = tasks(23, 'full', BATCH, 16_000, 8);
  for (const res of [1, 3, 8]) {
    const r = compact(ms, ts, { ...exact(40), resolutionMachines: res }, clock);
    assert.ok(r.fits && r.machines >= 23 && r.machines < 23 + res, `resolution ${res}: ${r.machines}`);
  }
});

test('a warm start (hint) finds the same exact answer from above, below or on it, in fewer packings when it is right', () => {
  const ms = machines(60);
  const ts = tasks(37, 'full', BATCH, 16_000, 8);
  const cold = compact(ms, ts, exact(60), clock);
  assert.deepEqual([cold.fits, cold.machines, cold.lowerBoundMachines], [true, 37, 37]);
  for (const hintRatio of [0.5, 1, 1.2, 37 / 37, 45 / 37, 1.6]) {
    const warm = compact(ms, ts, { ...exact(60), hintRatio }, clock);
    assert.deepEqual([warm.fits, warm.machines], [true, 37], `hint ${hintRatio}`);
  }
  // A cpu- and ram-bound mix where the fluid bound is below the answer: the cold search gallops, a right hint does not.
  const mix = [...tasks(10, 'big', BATCH, 9_000, 8)];
  const c2 = compact(ms, mix, exact(60), clock);
  assert.equal(c2.machines, 10);
  const w2 = compact(ms, mix, { ...exact(60), hintRatio: c2.machines / c2.lowerBoundMachines }, clock);
  assert.equal(w2.machines, 10);
  assert.equal(w2.packings, 2, 'a right hint packs the answer and one size below');
  assert.ok(c2.packings > w2.packings, `cold ${c2.packings} packings, warm ${w2.packings}`);
});

test('the spread bound: a one-per-machine job needs a machine per task; the search starts there', () => {
  const spread = tasks(9, 'spread', PROD, 1000, 1).map((t) => ({ ...t, spread: { ...t.spread, maxPerMachine: 1 } }));
  const two = tasks(9, 'two', PROD, 1000, 1).map((t) => ({ ...t, spread: { ...t.spread, maxPerMachine: 2 } }));
  assert.equal(spreadBound([...spread, ...two, ...tasks(50, 'free', BATCH, 100, 1)]), 9);
  assert.equal(spreadBound(two), 5);
  assert.equal(spreadBound(spread, 2), 7, 'the allowed pending tasks come off the largest job');
  const r = compact(machines(20), spread, exact(20), clock);
  assert.deepEqual([r.fits, r.machines, r.lowerBoundMachines, r.packings], [true, 9, 9, 2]);
});

test('jobs: trial 0 of every variant comes first, so later trials can start from its answer', () => {
  const jobs = jobsFor(['sharing', 'cells'], 3, 1);
  const firstLater = jobs.findIndex((j) => j.trial > 0);
  assert.ok(firstLater > 0);
  assert.ok(jobs.slice(0, firstLater).every((j) => j.trial === 0));
  assert.ok(jobs.slice(firstLater).every((j) => j.trial > 0));
  assert.equal(jobs.length, 3 * (1 + 2 + 2 + 5 + 10));
  // the hint is the median of answer / fluid bound over trial 0's parts; none when a part did not fit
  const r = (machinesNeeded: number, fluid: number, fits = true) => ({ ...runJobShape, machines: machinesNeeded, lowerBoundMachines: fluid, fits });
  assert.equal(hintFrom([r(12, 10), r(30, 20), r(11, 10)]), 1.2);
  assert.equal(hintFrom([r(12, 10), r(30, 20, false)]), null);
  assert.equal(hintFrom([]), null);
});
const runJobShape = { variantId: 'cells-5', trial: 0, part: 0, tasks: 1, picky: 0, allowedPending: 0, packings: 1, pending: 0, reservedCpuFraction: 0, reservedRamFraction: 0, strandedCpuFraction: 0, strandedRamFraction: 0, wallSeconds: 0 };

test('the same seed gives the same compaction; job results are deterministic', () => {
  const ms = [...machines(30), ...machines(30, 8, 32).map((m, i) => ({ ...m, name: `s${i}` }))];
  const ts = [...tasks(40, 'a', PROD, 3_000, 10), ...tasks(60, 'b', BATCH, 1_500, 5), ...tasks(30, 'c', 0, 700, 3)];
  const ctx = { ...defaultContext(ms, ts, DEFAULT_RESERVATION_MODEL), resolutionFraction: 0 };
  const v = experimentArms('cells')[2]?.variants[0];
  assert.ok(v !== undefined && v.cells === 5);
  const once = [0, 1, 2, 3, 4].map((part) => runJob(ctx, { variant: v, trial: 0, part, seed: 7 }));
  const again = [0, 1, 2, 3, 4].map((part) => runJob(ctx, { variant: v, trial: 0, part, seed: 7 }));
  assert.deepEqual(once.map((r) => [r.machines, r.tasks]), again.map((r) => [r.machines, r.tasks]));
  assert.equal(once.reduce((s, r) => s + r.tasks, 0), ts.length);
});

test('experiment transforms: buckets, reservations, subsets, job splits, percentiles', () => {
  const table: [number, number, number][] = [
    [1, 500, 500],
    [500, 500, 500],
    [501, 500, 1000],
    [3000, 500, 4000],
    [GiB + 1, GiB, 2 * GiB],
    [GiB / 4, GiB, GiB],
  ];
  for (const [x, unit, want] of table) assert.equal(bucketUp(x, unit), want, `${x}`);
  const ts = [...tasks(2, 'p', PROD, 1000, 4), ...tasks(3, 'b', BATCH, 1000, 4)];
  const base = experimentArms('reclamation')[0]?.variants[0];
  assert.ok(base !== undefined);
  const res = variantTasks(ts, base, { cpuFraction: 0.5, ramFraction: 0.25 });
  assert.deepEqual(res.map((t) => [t.limit.cpuMillis, t.limit.ramBytes / GiB]), [[1000, 4], [1000, 4], [500, 1], [500, 1], [500, 1]]);
  assert.equal(variantTasks(ts, { ...base, subset: 'prod' }, DEFAULT_RESERVATION_MODEL).length, 2);
  assert.equal(variantTasks(ts, { ...base, subset: 'nonprod' }, DEFAULT_RESERVATION_MODEL).length, 3);
  const bucketed = variantTasks(tasks(1, 'x', PROD, 600, 3), { ...base, bucketed: true }, DEFAULT_RESERVATION_MODEL);
  assert.deepEqual(bucketed.map((t) => [t.limit.cpuMillis, t.limit.ramBytes / GiB]), [[1000, 4]]);
  const many = Array.from({ length: 50 }, (_, j) => tasks(3, `j${j}`, BATCH, 100, 1)).flat();
  const parts = splitByJob(many, 5, 9);
  assert.equal(parts.reduce((s, p) => s + p.length, 0), 150);
  for (const p of parts) for (const t of p) assert.equal(p.filter((u) => u.job === t.job).length, 3, 'a job stays in one cell');
  assert.equal(percentile([5, 1, 9, 3, 7, 2, 8, 4, 6, 10, 11], 90), 10);
  assert.equal(percentile([4], 90), 4);
});
