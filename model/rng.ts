// Randomness as an injected dependency (DESIGN.md §9). Decision code draws only from an Rng so a seed replays
// a run exactly. SeededRng is sfc32 seeded through splitmix32: fast, small state, good statistical quality.
import { randomBytes } from 'node:crypto';
import { assert } from './assert';

export interface Rng {
  /** next returns a float in [0, 1). */
  next(): number;
  /** int returns an integer in [0, n). */
  int(n: number): number;
  /** fork derives an independent generator, so adding draws in one component does not shift another's. */
  fork(label: string): Rng;
}

function splitmix32(a: number): () => number {
  return () => {
    a = (a + 0x9e3779b9) | 0;
    let z = a;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
}

function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

export class SeededRng implements Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(readonly seed: number) {
    assert(Number.isSafeInteger(seed), `rng seed must be an integer, got ${seed}`);
    const init = splitmix32((seed ^ Math.floor(seed / 2 ** 32)) | 0);
    this.a = init();
    this.b = init();
    this.c = init();
    this.d = init();
    for (let i = 0; i < 12; i++) this.u32();
  }

  /** u32 is one sfc32 step. */
  u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  next(): number {
    return this.u32() / 4294967296;
  }

  int(n: number): number {
    assert(Number.isInteger(n) && n > 0 && n <= 2 ** 32, `rng.int bound must be in [1, 2^32], got ${n}`);
    return Math.floor(this.next() * n);
  }

  fork(label: string): Rng {
    return new SeededRng((this.u32() ^ hashString(label)) >>> 0);
  }
}

/** systemRng seeds a generator from the OS. Only IO edges use it; the seed is logged where replay matters. */
export function systemRng(): SeededRng {
  return new SeededRng(randomBytes(4).readUInt32LE(0));
}

/** shuffle permutes a in place (Fisher-Yates) with draws from rng. */
export function shuffle<T>(a: T[], rng: Rng): T[] {
  for (let i = a.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const tmp = a[i] as T;
    a[i] = a[j] as T;
    a[j] = tmp;
  }
  return a;
}
