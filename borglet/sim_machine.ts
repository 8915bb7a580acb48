// A simulated machine for the Borglet's pure decision logic (reclaim, memoryEvictions, cpuPlan) on a virtual
// clock with a seeded RNG: synthetic tasks arrive as a scheduler would place them (prod against limits, non-prod
// against reservations, B15 §5.5), their usage wanders, and every tick the same functions the real Borglet runs
// decide reservations, evictions and quotas. Checkers state what must hold; a failing seed replays exactly with
// `npm run sim -- borglet --seed S`.
import { VirtualClock } from '../model/clock';
import { SeededRng, type Rng } from '../model/rng';
import { isProd } from '../model/priority';
import type { Resources } from '../model/resources';
import type { ReclamationConfig } from '../cells/config';
import { CPU_QUOTA_MIN_MILLIS, RESERVATION_QUANTUM_CPU_MILLIS, RESERVATION_QUANTUM_RAM_BYTES } from '../cells/limits';
import { reclaim, peakWindowMs, UsageWindow } from './reclaim';
import { cpuPlan, memoryEvictions, type PressureTask } from './pressure';

const MiB = 1024 * 1024;

interface SimTask {
  id: string;
  priority: number;
  latencySensitive: boolean;
  limit: Resources;
  reservation: Resources;
  startMs: number;
  lastDecayMs: number;
  window: UsageWindow;
  usage: { cpuMillis: number; ramBytes: number };
  /** wantCpu: what the task would use unthrottled on an idle machine. */
  wantCpu: number;
  quota: number | null;
}

export interface SimOptions {
  ticks: number;
  tickMs: number;
  capacity: Resources;
  reclamation: ReclamationConfig;
}

export interface SimResult {
  seed: number;
  evictions: number;
  prodEvictions: number;
  throttledTicks: number;
  arrivals: number;
  violations: string[];
  /** hash of the whole trace: equal seeds must give equal hashes. */
  hash: number;
}

export const DEFAULT_SIM: SimOptions = {
  ticks: 600,
  tickMs: 1_000,
  capacity: { cpuMillis: 4_000, ramBytes: 8_192 * MiB, diskBytes: 0, ports: 100 },
  reclamation: { startDelayMs: 60_000, intervalMs: 5_000, safetyMargin: 0.15, decay: 0.2 },
};

function pick<T>(rng: Rng, xs: readonly T[]): T {
  return xs[rng.int(xs.length)] as T;
}

/** simulateMachine runs one seed. */
export function simulateMachine(seed: number, o: SimOptions = DEFAULT_SIM): SimResult {
  const rng = new SeededRng(seed);
  const clock = new VirtualClock(1_000_000);
  const tasks = new Map<string, SimTask>();
  const violations: string[] = [];
  let hash = 0x811c9dc5;
  const mix = (n: number): void => {
    hash = Math.imul(hash ^ (n | 0), 0x01000193) >>> 0;
  };
  const res = { evictions: 0, prodEvictions: 0, throttledTicks: 0, arrivals: 0 };
  let throttling = false;
  let next = 0;
  const check = (ok: boolean, what: () => string): void => {
    if (!ok && violations.length < 20) violations.push(`t=${clock.nowMs()}: ${what()}`);
  };

  for (let tick = 0; tick < o.ticks; tick++) {
    clock.advance(o.tickMs);
    const now = clock.nowMs();
    // Arrivals, placed as the scheduler would: prod against limits, non-prod against reservations.
    if (rng.next() < 0.15) {
      const prod = rng.next() < 0.4;
      const priority = prod ? pick(rng, [120, 200, 300]) : pick(rng, [0, 100, 105, 110, 116]);
      const limit: Resources = { cpuMillis: 100 * (1 + rng.int(20)), ramBytes: 64 * MiB * (1 + rng.int(24)), diskBytes: 0, ports: 0 };
      const live = [...tasks.values()];
      const charged = live.reduce((s, t) => s + (prod && !isProd(t.priority) ? 0 : prod ? t.limit.ramBytes : t.reservation.ramBytes), 0);
      if (charged + limit.ramBytes <= o.capacity.ramBytes) {
        const id = `t${next++}`;
        tasks.set(id, { id, priority, latencySensitive: prod && rng.next() < 0.5, limit, reservation: { ...limit }, startMs: now, lastDecayMs: 0, window: new UsageWindow(), usage: { cpuMillis: 0, ramBytes: 0 }, wantCpu: 0, quota: null });
        res.arrivals++;
      }
    }
    // Departures.
    for (const t of [...tasks.values()]) if (rng.next() < 0.003) tasks.delete(t.id);
    // Usage wanders; the kernel caps memory at the limit (a rare task reads just over it, as accounting can).
    const wantTotal = [...tasks.values()].reduce((s, t) => s + t.wantCpu, 0);
    for (const t of tasks.values()) {
      if (rng.next() < 0.1) t.wantCpu = rng.next() < 0.3 ? 0 : rng.int(t.limit.cpuMillis + 1);
      const ramTarget = rng.next() < 0.7 ? t.usage.ramBytes : rng.int(t.limit.ramBytes + 1);
      t.usage.ramBytes = rng.next() < 0.002 ? t.limit.ramBytes + MiB : ramTarget;
      // CPU: the machine shares what it has in proportion to wants, quotas cap non-prod; the rest waits.
      const share = wantTotal > o.capacity.cpuMillis ? (t.wantCpu * o.capacity.cpuMillis) / wantTotal : t.wantCpu;
      t.usage.cpuMillis = Math.floor(t.quota === null ? share : Math.min(share, t.quota));
      t.window.push({ atMs: now, cpuMillis: t.usage.cpuMillis, ramBytes: t.usage.ramBytes });
    }
    // Reclamation, exactly as the Borglet's tick does it.
    for (const t of tasks.values()) {
      const before = t.reservation;
      const out = reclaim({ limit: t.limit, reservation: t.reservation, startMs: t.startMs, lastDecayMs: t.lastDecayMs, usage: t.usage, peak: t.window.peak(now - peakWindowMs(o.reclamation)) }, o.reclamation, now);
      t.reservation = out.reservation;
      t.lastDecayMs = out.lastDecayMs;
      const r = t.reservation;
      check(r.ramBytes <= t.limit.ramBytes && r.cpuMillis <= t.limit.cpuMillis, () => `${t.id} reservation above its limit`);
      check(r.ramBytes >= Math.min(t.limit.ramBytes, t.usage.ramBytes), () => `${t.id} reservation ${r.ramBytes} below usage ${t.usage.ramBytes}`);
      check(r.ramBytes === t.limit.ramBytes || r.ramBytes % RESERVATION_QUANTUM_RAM_BYTES === 0, () => `${t.id} ram reservation not quantised`);
      check(r.cpuMillis === t.limit.cpuMillis || r.cpuMillis % RESERVATION_QUANTUM_CPU_MILLIS === 0, () => `${t.id} cpu reservation not quantised`);
      if (now < t.startMs + o.reclamation.startDelayMs) check(r.ramBytes === t.limit.ramBytes, () => `${t.id} reclaimed before the start delay`);
      // It only rises to cover recent usage plus the margin, never beyond.
      const peak = t.window.peak(now - peakWindowMs(o.reclamation)).ramBytes;
      const cover = Math.min(t.limit.ramBytes, Math.ceil((peak + o.reclamation.safetyMargin * t.limit.ramBytes) / RESERVATION_QUANTUM_RAM_BYTES) * RESERVATION_QUANTUM_RAM_BYTES);
      check(r.ramBytes <= before.ramBytes || r.ramBytes <= cover, () => `${t.id} reservation rose to ${r.ramBytes} beyond recent peak + margin ${cover}`);
      mix(r.ramBytes / MiB);
      mix(r.cpuMillis);
    }
    // Pressure.
    const view = (): PressureTask[] =>
      [...tasks.values()].map((t) => ({
        taskId: t.id,
        priority: t.priority,
        latencySensitive: t.latencySensitive,
        limitCpuMillis: t.limit.cpuMillis,
        limitRamBytes: t.limit.ramBytes,
        reservationRamBytes: t.reservation.ramBytes,
        usageCpuMillis: t.usage.cpuMillis,
        waitCpuMillis: Math.max(0, t.wantCpu - t.usage.cpuMillis),
        usageRamBytes: t.usage.ramBytes,
      }));
    const evictions = memoryEvictions(view(), o.capacity.ramBytes);
    let lastNonProdPriority = -1;
    for (const e of evictions) {
      const t = tasks.get(e.taskId);
      if (t === undefined) continue;
      const overLimit = t.usage.ramBytes > t.limit.ramBytes;
      check(!isProd(t.priority) || overLimit, () => `prod task ${t.id} evicted for reclamation`);
      if (!overLimit) {
        check(t.priority >= lastNonProdPriority, () => `evictions out of priority order at ${t.id}`);
        lastNonProdPriority = t.priority;
      }
      if (isProd(t.priority)) res.prodEvictions++;
      res.evictions++;
      tasks.delete(e.taskId);
      mix(Number(e.taskId.slice(1)));
    }
    const after = [...tasks.values()];
    const reserved = after.reduce((s, t) => s + t.reservation.ramBytes, 0);
    const nonProdLeft = after.some((t) => !isProd(t.priority));
    check(reserved <= o.capacity.ramBytes || !nonProdLeft, () => `reservations ${reserved} exceed capacity with non-prod left`);
    const plan = cpuPlan(view(), o.capacity.cpuMillis, throttling);
    throttling = plan.throttling;
    if (throttling) res.throttledTicks++;
    for (const t of after) {
      const q = plan.quotas.get(t.id);
      if (isProd(t.priority)) check(q === undefined, () => `prod task ${t.id} got a quota`);
      else check(q === null || (q !== undefined && q >= CPU_QUOTA_MIN_MILLIS), () => `bad quota for ${t.id}`);
      t.quota = q ?? null;
      mix(t.quota ?? -1);
    }
  }
  return { seed, ...res, violations, hash };
}
