// Resource reclamation (B15 §5.5), pure: a task's reservation equals its limit until startDelayMs after it
// starts; then every intervalMs it decays toward its recent peak usage plus a safety margin, and it jumps back up
// at once whenever usage exceeds it. Reservations are quantised (rounded up) so small changes cause no churn in
// the master's replicated state. CPU and RAM are reclaimed; disk and ports stay at the limit.
import { assert } from '../model/assert';
import type { Resources } from '../model/resources';
import type { ReclamationConfig } from '../cells/config';
import { BORGLET_USAGE_SAMPLES_MAX, RECLAIM_PEAK_WINDOW_INTERVALS, RESERVATION_QUANTUM_CPU_MILLIS, RESERVATION_QUANTUM_RAM_BYTES } from '../cells/limits';

export interface UsageSample {
  atMs: number;
  cpuMillis: number;
  ramBytes: number;
}

/** UsageWindow is a bounded ring of samples; peak() looks back over a time window. */
export class UsageWindow {
  private samples: UsageSample[] = [];

  push(s: UsageSample): void {
    const last = this.samples[this.samples.length - 1];
    assert(last === undefined || s.atMs >= last.atMs, 'usage samples arrive in time order');
    this.samples.push(s);
    if (this.samples.length > BORGLET_USAGE_SAMPLES_MAX) this.samples.shift();
  }

  /** peak is the per-dimension maximum of samples taken at or after sinceMs. */
  peak(sinceMs: number): { cpuMillis: number; ramBytes: number } {
    let cpuMillis = 0;
    let ramBytes = 0;
    for (let i = this.samples.length - 1; i >= 0; i--) {
      const s = this.samples[i] as UsageSample;
      if (s.atMs < sinceMs) break;
      cpuMillis = Math.max(cpuMillis, s.cpuMillis);
      ramBytes = Math.max(ramBytes, s.ramBytes);
    }
    return { cpuMillis, ramBytes };
  }

  latest(): UsageSample | undefined {
    return this.samples[this.samples.length - 1];
  }

  clear(): void {
    this.samples = [];
  }
}

export interface ReclaimInput {
  limit: Resources;
  reservation: Resources;
  /** startMs is when the task's current run started. */
  startMs: number;
  /** lastDecayMs is when the reservation last decayed (0 if never). */
  lastDecayMs: number;
  usage: { cpuMillis: number; ramBytes: number };
  /** peak is the recent peak usage (see peakWindowMs). */
  peak: { cpuMillis: number; ramBytes: number };
}

export interface ReclaimOutput {
  reservation: Resources;
  lastDecayMs: number;
}

/** peakWindowMs is how far back "recent" usage looks for a given config. */
export function peakWindowMs(cfg: ReclamationConfig): number {
  return cfg.intervalMs * RECLAIM_PEAK_WINDOW_INTERVALS;
}

function quantUp(v: number, quantum: number, cap: number): number {
  return Math.min(cap, Math.ceil(v / quantum) * quantum);
}

/** reclaimDimension moves one dimension of a reservation; see the file comment for the rules. */
function reclaimDimension(limit: number, reservation: number, usage: number, peak: number, decayDue: boolean, cfg: ReclamationConfig, quantum: number): number {
  const margin = cfg.safetyMargin * limit;
  const target = quantUp(peak + margin, quantum, limit);
  // Snap up at once: usage above the reservation, or the recent peak plus margin above it.
  if (usage > reservation || target > reservation) return Math.max(reservation, quantUp(Math.max(usage + margin, target), quantum, limit));
  if (!decayDue || target >= reservation) return reservation;
  let next = quantUp(reservation - cfg.decay * (reservation - target), quantum, limit);
  // Rounding up to the quantum could stall the decay one quantum above the target; take at least one quantum.
  if (next >= reservation) next = reservation - quantum;
  return Math.max(target, next);
}

/** reclaim computes a task's next reservation at nowMs. */
export function reclaim(input: ReclaimInput, cfg: ReclamationConfig, nowMs: number): ReclaimOutput {
  const { limit } = input;
  if (nowMs < input.startMs + cfg.startDelayMs) return { reservation: { ...limit }, lastDecayMs: input.lastDecayMs };
  const decayDue = nowMs - Math.max(input.lastDecayMs, input.startMs + cfg.startDelayMs - cfg.intervalMs) >= cfg.intervalMs;
  const reservation: Resources = {
    cpuMillis: reclaimDimension(limit.cpuMillis, input.reservation.cpuMillis, input.usage.cpuMillis, input.peak.cpuMillis, decayDue, cfg, RESERVATION_QUANTUM_CPU_MILLIS),
    ramBytes: reclaimDimension(limit.ramBytes, input.reservation.ramBytes, input.usage.ramBytes, input.peak.ramBytes, decayDue, cfg, RESERVATION_QUANTUM_RAM_BYTES),
    diskBytes: limit.diskBytes,
    ports: limit.ports,
  };
  assert(reservation.cpuMillis <= limit.cpuMillis && reservation.ramBytes <= limit.ramBytes, 'a reservation never exceeds the limit');
  assert(reservation.cpuMillis >= 0 && reservation.ramBytes >= 0, 'a reservation is never negative');
  return { reservation, lastDecayMs: decayDue ? nowMs : input.lastDecayMs };
}
