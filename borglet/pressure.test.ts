// Pressure tables: who is evicted when memory is short, and which quotas apply when CPU is short.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpuPlan, memoryEvictions, type PressureTask } from './pressure';

const MiB = 1024 * 1024;
function t(taskId: string, priority: number, o: Partial<PressureTask> = {}): PressureTask {
  return { taskId, priority, latencySensitive: false, limitCpuMillis: 100, limitRamBytes: 100 * MiB, reservationRamBytes: 100 * MiB, usageCpuMillis: 0, waitCpuMillis: 0, usageRamBytes: 10 * MiB, ...o };
}

test('memory pressure: who goes, in which order', () => {
  const rows: { name: string; tasks: PressureTask[]; capacity: number; want: string[] }[] = [
    { name: 'fits: nobody', tasks: [t('p', 200), t('b1', 100)], capacity: 200 * MiB, want: [] },
    { name: 'lowest priority non-prod first, until reservations fit', tasks: [t('p', 200), t('b110', 110), t('b100', 100), t('b105', 105)], capacity: 250 * MiB, want: ['b100', 'b105'] },
    { name: 'prod is never evicted, even if memory stays short', tasks: [t('p1', 200), t('p2', 120), t('b', 0)], capacity: 150 * MiB, want: ['b'] },
    { name: 'a task over its own limit goes first regardless of priority', tasks: [t('b', 100), t('over', 300, { usageRamBytes: 120 * MiB })], capacity: 190 * MiB, want: ['over'] },
    { name: 'usage near capacity is short even if reservations fit', tasks: [t('p', 200, { reservationRamBytes: 40 * MiB, usageRamBytes: 90 * MiB }), t('b', 100, { reservationRamBytes: 40 * MiB, usageRamBytes: 15 * MiB })], capacity: 100 * MiB, want: ['b'] },
    { name: 'equal priority: the larger user first', tasks: [t('p', 200), t('small', 100, { usageRamBytes: 5 * MiB }), t('big', 100, { usageRamBytes: 50 * MiB })], capacity: 250 * MiB, want: ['big'] },
  ];
  for (const r of rows) {
    const got = memoryEvictions(r.tasks, r.capacity);
    assert.deepEqual(got.map((e) => e.taskId), r.want, r.name);
    for (const e of got) assert.match(e.reason, /machine short of memory/);
  }
});

test('cpu pressure: throttle non-prod when prod needs the CPU, with hysteresis', () => {
  const prod = (usage: number, ls = false): PressureTask => t('p', 200, { limitCpuMillis: 800, usageCpuMillis: usage, latencySensitive: ls });
  const batch = (usage: number): PressureTask => t('b', 100, { limitCpuMillis: 800, usageCpuMillis: usage });
  const rows: { name: string; tasks: PressureTask[]; was: boolean; throttling: boolean; quota: number | null }[] = [
    { name: 'not short: no quota', tasks: [prod(300), batch(300)], was: false, throttling: false, quota: null },
    { name: 'short on a contended host: demand counts run-queue waiting, prod waiting takes from non-prod', tasks: [{ ...prod(200), waitCpuMillis: 150 }, { ...batch(200), waitCpuMillis: 400 }], was: false, throttling: true, quota: 50 },
    { name: 'prod waiting more than is left: non-prod at the floor', tasks: [{ ...prod(200), waitCpuMillis: 500 }, { ...batch(100), waitCpuMillis: 0 }], was: true, throttling: true, quota: 10 },
    { name: 'short while prod is active: non-prod gets capacity minus prod limit', tasks: [prod(500), batch(480)], was: false, throttling: true, quota: 200 },
    { name: 'short but prod idle: no quota', tasks: [prod(0), batch(1000)], was: false, throttling: false, quota: null },
    { name: 'throttled and still above the relief line: stays', tasks: [prod(790), batch(200)], was: true, throttling: true, quota: 200 },
    { name: 'throttled and usage fell below the relief line: lifted', tasks: [prod(300), batch(200)], was: true, throttling: false, quota: null },
    { name: 'latency-sensitive prod above its limit keeps what it uses', tasks: [prod(900, true), batch(100)], was: false, throttling: true, quota: 100 },
    { name: 'the quota never drops below the floor', tasks: [prod(1000, true), batch(5)], was: true, throttling: true, quota: 10 },
  ];
  for (const r of rows) {
    const plan = cpuPlan(r.tasks, 1000, r.was);
    assert.equal(plan.throttling, r.throttling, `${r.name}: throttling`);
    assert.equal(plan.quotas.get('b'), r.quota, `${r.name}: quota`);
    assert.equal(plan.quotas.has('p'), false, `${r.name}: prod never gets a quota`);
  }
});

test('cpu pressure: the non-prod budget is split by request', () => {
  const plan = cpuPlan([t('p', 200, { limitCpuMillis: 400, usageCpuMillis: 400 }), t('a', 100, { limitCpuMillis: 300, usageCpuMillis: 300 }), t('b', 110, { limitCpuMillis: 100, usageCpuMillis: 300 })], 1000, false);
  assert.equal(plan.quotas.get('a'), 450);
  assert.equal(plan.quotas.get('b'), 150);
});
