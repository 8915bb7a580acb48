// SimDisk is a virtual disk with a page cache: write() is volatile until sync() completes after a random latency;
// a crash keeps a random prefix of the unsynced writes (what the kernel happened to flush) and loses the rest.
import type { Rng } from '../../model/rng';
import type { EventQueue } from './scheduler';

export class SimDisk<S, B> {
  private durable: S;
  private pending: B[] = [];
  /** generation changes on every crash, so a sync completing after the crash is ignored. */
  private generation = 0;
  syncs = 0;
  lostWrites = 0;

  constructor(
    initial: S,
    private readonly fold: (state: S, batch: B) => S,
    private readonly events: EventQueue,
    private readonly rng: Rng,
    /** sync latency, uniform in [minSyncMs, maxSyncMs]. */
    readonly minSyncMs: number,
    readonly maxSyncMs: number,
  ) {
    this.durable = initial;
  }

  /** write buffers b in the page cache. */
  write(b: B): void {
    this.pending.push(b);
  }

  /** sync makes every write so far durable and then calls done (unless the disk's owner crashed meanwhile). */
  sync(done: () => void): void {
    const gen = this.generation;
    const upTo = this.pending.length;
    const latency = this.minSyncMs + this.rng.next() * (this.maxSyncMs - this.minSyncMs);
    this.events.after(latency, () => {
      if (gen !== this.generation) return;
      const batches = this.pending.splice(0, upTo);
      for (const b of batches) this.durable = this.fold(this.durable, b);
      this.syncs++;
      done();
    });
  }

  /** crash keeps a random prefix of the unsynced writes and drops the rest. */
  crash(): void {
    this.generation++;
    const keep = this.rng.int(this.pending.length + 1);
    for (const b of this.pending.slice(0, keep)) this.durable = this.fold(this.durable, b);
    this.lostWrites += this.pending.length - keep;
    this.pending = [];
  }

  /** read returns the durable state (what a restart finds). */
  read(): S {
    return this.durable;
  }
}
