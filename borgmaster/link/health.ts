// Machine health as seen by one link shard, and the rate limit on replacing lost tasks. Pure (clock injected).
// A Borglet that misses `missedPollsBeforeDown` polls in a row is reported DOWN; its tasks are then declared
// LOST no faster than the cell's rescheduling rate, because a partition looks exactly like a failure (B15 §4)
// and replacing a whole rack's tasks at once would be a self-inflicted outage.
import type { Clock } from '../../model/clock';
import { assert } from '../../model/assert';

export class MachineHealth {
  private readonly misses = new Map<string, number>();

  constructor(private readonly missedPollsBeforeDown: number) {
    assert(missedPollsBeforeDown >= 1, 'missedPollsBeforeDown >= 1');
  }

  /** ok records a successful poll. */
  ok(machine: string): void {
    this.misses.delete(machine);
  }

  /** missed records a failed poll and says whether the machine has now missed enough to be DOWN. */
  missed(machine: string): boolean {
    const n = (this.misses.get(machine) ?? 0) + 1;
    this.misses.set(machine, n);
    return n >= this.missedPollsBeforeDown;
  }

  missedCount(machine: string): number {
    return this.misses.get(machine) ?? 0;
  }

  forget(machine: string): void {
    this.misses.delete(machine);
  }
}

/** TokenBucket allows `ratePerSecond` on average with bursts of at most `burst`. */
export class TokenBucket {
  private tokens: number;
  private lastMs: number;

  constructor(
    private readonly clock: Clock,
    private readonly ratePerSecond: number,
    private readonly burst: number,
  ) {
    assert(ratePerSecond > 0 && burst >= 1, 'TokenBucket needs a positive rate and burst');
    this.tokens = burst;
    this.lastMs = clock.nowMs();
  }

  /** take returns how many of the `wanted` tokens are available now (0..wanted) and spends them. */
  take(wanted: number): number {
    const now = this.clock.nowMs();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.lastMs) / 1000) * this.ratePerSecond);
    this.lastMs = now;
    const n = Math.max(0, Math.min(wanted, Math.floor(this.tokens)));
    this.tokens -= n;
    return n;
  }
}

/**
 * Dedup remembers commands recently sent so a report repeated by the next poll is not proposed twice. Keys older
 * than holdMs are dropped once per holdMs, so it holds about what was sent in the last two holds (a key per
 * task that started, in a cell that just filled up), not everything since it began.
 */
export class Dedup {
  private readonly sentAt = new Map<string, number>();
  private sweptMs = 0;

  constructor(
    private readonly clock: Clock,
    private readonly holdMs: number,
  ) {}

  /** recent is true when the key was sent within holdMs. */
  recent(key: string): boolean {
    const at = this.sentAt.get(key);
    return at !== undefined && this.clock.nowMs() - at < this.holdMs;
  }

  mark(key: string): void {
    const now = this.clock.nowMs();
    this.sentAt.set(key, now);
    if (now - this.sweptMs < this.holdMs) return;
    this.sweptMs = now;
    for (const [k, t] of this.sentAt) if (now - t >= this.holdMs) this.sentAt.delete(k);
  }

  get size(): number {
    return this.sentAt.size;
  }

  /** fresh is true (and marks the key) unless the same key was sent within holdMs. */
  fresh(key: string): boolean {
    if (this.recent(key)) return false;
    this.mark(key);
    return true;
  }
}
