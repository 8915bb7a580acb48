// Reclamation tables: limit until the start delay, decay toward peak + margin per interval, snap-back, quanta.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { reclaim, UsageWindow, type ReclaimInput } from './reclaim';
import type { ReclamationConfig } from '../cells/config';
import { RESERVATION_QUANTUM_RAM_BYTES as QR, RESERVATION_QUANTUM_CPU_MILLIS as QC } from '../cells/limits';

const MiB = 1024 * 1024;
const cfg: ReclamationConfig = { startDelayMs: 300_000, intervalMs: 10_000, safetyMargin: 0.1, decay: 0.5 };
const limit = { cpuMillis: 1000, ramBytes: 1024 * MiB, diskBytes: 5, ports: 2 };

function input(o: Partial<ReclaimInput>): ReclaimInput {
  return { limit, reservation: { ...limit }, startMs: 0, lastDecayMs: 0, usage: { cpuMillis: 0, ramBytes: 0 }, peak: { cpuMillis: 0, ramBytes: 0 }, ...o };
}

test('reclaim: one row per rule', () => {
  const ramTarget = Math.ceil((100 * MiB + 0.1 * 1024 * MiB) / QR) * QR; // peak 100MiB + 10% of the limit
  const rows: { name: string; in: ReclaimInput; now: number; ram: number; cpu: number; decayed: boolean }[] = [
    { name: 'before the start delay the reservation is the limit', in: input({ reservation: { ...limit, ramBytes: 10 * MiB } }), now: 299_999, ram: limit.ramBytes, cpu: 1000, decayed: false },
    { name: 'first decay at the start delay: halfway to the target', in: input({ peak: { cpuMillis: 100, ramBytes: 100 * MiB }, usage: { cpuMillis: 100, ramBytes: 100 * MiB } }), now: 300_000, ram: Math.ceil((1024 * MiB - 0.5 * (1024 * MiB - ramTarget)) / QR) * QR, cpu: Math.ceil((1000 - 0.5 * (1000 - 200)) / QC) * QC, decayed: true },
    { name: 'no decay before the interval has passed', in: input({ reservation: { ...limit, ramBytes: 608 * MiB, cpuMillis: 600 }, lastDecayMs: 300_000, peak: { cpuMillis: 100, ramBytes: 100 * MiB } }), now: 309_999, ram: 608 * MiB, cpu: 600, decayed: false },
    { name: 'decay never goes below peak plus margin', in: input({ reservation: { ...limit, ramBytes: ramTarget + QR, cpuMillis: 200 + QC }, lastDecayMs: 300_000, peak: { cpuMillis: 100, ramBytes: 100 * MiB } }), now: 310_000, ram: ramTarget, cpu: 200, decayed: true },
    { name: 'usage above the reservation snaps it up at once (usage + margin); peak + margin above it too (cpu)', in: input({ reservation: { ...limit, ramBytes: 208 * MiB, cpuMillis: 200 }, lastDecayMs: 305_000, usage: { cpuMillis: 150, ramBytes: 500 * MiB }, peak: { cpuMillis: 150, ramBytes: 500 * MiB } }), now: 306_000, ram: Math.ceil((500 * MiB + 0.1 * 1024 * MiB) / QR) * QR, cpu: 250, decayed: false },
    { name: 'snap-up is capped at the limit', in: input({ reservation: { ...limit, ramBytes: 208 * MiB, cpuMillis: 200 }, lastDecayMs: 305_000, usage: { cpuMillis: 990, ramBytes: 1000 * MiB }, peak: { cpuMillis: 990, ramBytes: 1000 * MiB } }), now: 306_000, ram: 1024 * MiB, cpu: 1000, decayed: false },
  ];
  for (const r of rows) {
    const out = reclaim(r.in, cfg, r.now);
    assert.equal(out.reservation.ramBytes, r.ram, `${r.name}: ram`);
    assert.equal(out.reservation.cpuMillis, r.cpu, `${r.name}: cpu`);
    assert.equal(out.reservation.diskBytes, limit.diskBytes, `${r.name}: disk stays at the limit`);
    assert.equal(out.reservation.ports, limit.ports, `${r.name}: ports stay at the limit`);
    assert.equal(out.lastDecayMs !== r.in.lastDecayMs, r.decayed, `${r.name}: decayed`);
    assert.equal(out.reservation.ramBytes % QR === 0 || out.reservation.ramBytes === limit.ramBytes, true, `${r.name}: quantised`);
  }
});

test('reclaim: an idle task converges to the margin over intervals, monotonically', () => {
  let s = input({});
  const seen: number[] = [];
  for (let now = 300_000; now <= 600_000; now += 10_000) {
    const out = reclaim(s, cfg, now);
    seen.push(out.reservation.ramBytes);
    s = { ...s, reservation: out.reservation, lastDecayMs: out.lastDecayMs };
  }
  for (let i = 1; i < seen.length; i++) assert.ok((seen[i] as number) <= (seen[i - 1] as number), 'decay is monotone');
  assert.equal(seen[seen.length - 1], Math.ceil((0.1 * 1024 * MiB) / QR) * QR, 'converges to 0 + margin');
});

test('UsageWindow keeps a bounded window and reports the recent peak', () => {
  const w = new UsageWindow();
  w.push({ atMs: 0, cpuMillis: 900, ramBytes: 900 });
  w.push({ atMs: 10, cpuMillis: 100, ramBytes: 500 });
  w.push({ atMs: 20, cpuMillis: 200, ramBytes: 100 });
  assert.deepEqual(w.peak(0), { cpuMillis: 900, ramBytes: 900 });
  assert.deepEqual(w.peak(5), { cpuMillis: 200, ramBytes: 500 });
  assert.deepEqual(w.peak(30), { cpuMillis: 0, ramBytes: 0 });
  assert.throws(() => w.push({ atMs: 19, cpuMillis: 0, ramBytes: 0 }), /time order/);
  for (let i = 0; i < 5000; i++) w.push({ atMs: 100 + i, cpuMillis: 1, ramBytes: 1 });
  assert.deepEqual(w.peak(0), { cpuMillis: 1, ramBytes: 1 }, 'old samples fell out of the bounded ring');
});
