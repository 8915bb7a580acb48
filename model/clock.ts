// Time as an injected dependency (DESIGN.md §9). Decision code (Paxos core, state machine, scheduler, Borglet
// logic) reads time only through a Clock, so sim/ can run a whole cell on a VirtualClock from a seed.
import { assert } from './assert';

export interface Clock {
  /** nowMs is milliseconds since the Unix epoch (virtual or real). */
  nowMs(): number;
}

/** systemClock reads the machine's wall clock. Only IO edges construct it. */
export const systemClock: Clock = { nowMs: () => Date.now() };

interface Timer {
  atMs: number;
  seq: number;
  fn: () => void;
}

/**
 * VirtualClock is a clock that moves only when told. It also keeps timers, fired in (time, creation) order by
 * advance(), so simulated components can wait without real time passing.
 */
export class VirtualClock implements Clock {
  private now: number;
  private seq = 0;
  private timers: Timer[] = [];

  constructor(startMs = 0) {
    assert(Number.isFinite(startMs), 'VirtualClock start must be finite');
    this.now = startMs;
  }

  nowMs(): number {
    return this.now;
  }

  /** after schedules fn at now + delayMs; returns a cancel function. */
  after(delayMs: number, fn: () => void): () => void {
    assert(delayMs >= 0, 'VirtualClock.after: negative delay');
    const timer = { atMs: this.now + delayMs, seq: this.seq++, fn };
    this.timers.push(timer);
    return () => {
      this.timers = this.timers.filter((t) => t !== timer);
    };
  }

  /** advance moves time forward by ms, firing due timers in order; timers may schedule more timers. */
  advance(ms: number): void {
    assert(ms >= 0, 'VirtualClock.advance: time never goes backwards');
    const end = this.now + ms;
    for (;;) {
      const next = this.nextTimer();
      if (next === undefined || next.atMs > end) break;
      this.timers = this.timers.filter((t) => t !== next);
      this.now = next.atMs;
      next.fn();
    }
    this.now = end;
  }

  pendingTimers(): number {
    return this.timers.length;
  }

  private nextTimer(): Timer | undefined {
    let best: Timer | undefined;
    for (const t of this.timers) {
      if (best === undefined || t.atMs < best.atMs || (t.atMs === best.atMs && t.seq < best.seq)) best = t;
    }
    return best;
  }
}
