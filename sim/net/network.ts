// SimNetwork is a virtual network between numbered nodes: per-message loss, duplication and random delay (so
// reordering), directed link cuts (partitions, including asymmetric ones), all drawn from one seeded Rng.
import type { Rng } from '../../model/rng';
import { assert } from '../../model/assert';
import type { EventQueue } from './scheduler';

export interface NetworkFaults {
  /** lossRate: probability that a message is dropped. */
  lossRate: number;
  /** duplicateRate: probability that a message is delivered twice (the copy with its own delay). */
  duplicateRate: number;
  /** delay of each delivery, uniform in [minDelayMs, maxDelayMs]; a spread reorders messages. */
  minDelayMs: number;
  maxDelayMs: number;
  /** spikeRate: probability that a delivery takes up to spikeDelayMs instead (long reordering). */
  spikeRate: number;
  spikeDelayMs: number;
}

export const NO_FAULTS: NetworkFaults = { lossRate: 0, duplicateRate: 0, minDelayMs: 1, maxDelayMs: 1, spikeRate: 0, spikeDelayMs: 0 };

export interface NetworkStats {
  sent: number;
  delivered: number;
  dropped: number;
  duplicated: number;
  cut: number;
}

export class SimNetwork<M> {
  faults: NetworkFaults = { ...NO_FAULTS };
  readonly stats: NetworkStats = { sent: 0, delivered: 0, dropped: 0, duplicated: 0, cut: 0 };
  private handlers = new Map<number, (m: M) => void>();
  /** cuts holds directed links `from>to` that drop everything. */
  private cuts = new Set<string>();

  constructor(
    private readonly events: EventQueue,
    private readonly rng: Rng,
  ) {}

  /** listen sets the handler for node id; undefined (a crashed node) drops what arrives. */
  listen(id: number, handler: ((m: M) => void) | undefined): void {
    if (handler) this.handlers.set(id, handler);
    else this.handlers.delete(id);
  }

  send(from: number, to: number, m: M): void {
    this.stats.sent++;
    if (this.cuts.has(`${from}>${to}`)) {
      this.stats.cut++;
      return;
    }
    if (this.rng.next() < this.faults.lossRate) {
      this.stats.dropped++;
      return;
    }
    this.schedule(from, to, m);
    if (this.rng.next() < this.faults.duplicateRate) {
      this.stats.duplicated++;
      this.schedule(from, to, m);
    }
  }

  private schedule(from: number, to: number, m: M): void {
    const f = this.faults;
    assert(f.minDelayMs >= 0 && f.maxDelayMs >= f.minDelayMs, 'bad delay bounds');
    let delay = f.minDelayMs + this.rng.next() * (f.maxDelayMs - f.minDelayMs);
    if (f.spikeRate > 0 && this.rng.next() < f.spikeRate) delay = f.minDelayMs + this.rng.next() * f.spikeDelayMs;
    this.events.after(delay, () => {
      // A link cut after sending still drops what is in flight (as a real partition would).
      if (this.cuts.has(`${from}>${to}`)) {
        this.stats.cut++;
        return;
      }
      const h = this.handlers.get(to);
      if (h === undefined) {
        this.stats.dropped++;
        return;
      }
      this.stats.delivered++;
      h(m);
    });
  }

  /** cut drops every message from `from` to `to` (one direction) until healed. */
  cut(from: number, to: number): void {
    this.cuts.add(`${from}>${to}`);
  }

  /** partition cuts every link between different groups, both directions. */
  partition(groups: readonly (readonly number[])[]): void {
    for (const a of groups) for (const b of groups) if (a !== b) for (const x of a) for (const y of b) this.cut(x, y);
  }

  isolate(id: number, all: readonly number[]): void {
    for (const o of all) if (o !== id) this.cut(id, o), this.cut(o, id);
  }

  heal(): void {
    this.cuts.clear();
  }

  cutLinks(): string[] {
    return [...this.cuts].sort();
  }
}
