// RoomIndex buckets the UP machines by how much cpu and ram a candidate could get on them, on a log scale, so a
// walk on a loaded cell visits only the machines whose room could fit the request instead of all 12,477.
// The snapshot keeps it current (one O(1) move per change); the scheduler reads it (scheduler.ts indexedView).
//
// A candidate's room on a machine depends on what it may evict, so there is one grid per *room kind*, each an
// upper bound on what some candidates can get (charged.ts has the exact vectors):
//   ROOM_FREE          cap - resAll                  priority 0: evicts nothing (exact)
//   ROOM_ABOVE_LOWEST  cap - resAll + lowestRes     priority 1: evicts exactly the priority-0 tasks (exact)
//   ROOM_FREE_BAND     cap - resAll + freeBandRes   priorities 2..FREE_MAX+1: may evict only free-band tasks
//   ROOM_NON_PROD   cap - prodRes                   other non-prod: may evict at most every non-prod task
//   ROOM_PROD       cap - prodLimit                 prod: evicts all non-prod, never prod (exact)
// Bucket b(x) of an amount x (cpu in millicores, ram in MiB, floored): 0 for x < 1, else 1 + 2*floor(log2 x)
// + the next bit, two buckets per octave. For a request q with bucket k, every machine in a bucket below k has
// room < q and every machine in a bucket above k has room > q (proof in bucketOf's comment), so only bucket k
// itself needs a per-machine look.
import { assert } from '../model/assert';
import { FREE_MAX, isProd } from '../model/priority';

export const ROOM_FREE = 0;
export const ROOM_ABOVE_LOWEST = 1;
export const ROOM_FREE_BAND = 2;
export const ROOM_NON_PROD = 3;
export const ROOM_PROD = 4;
export const ROOM_KINDS = 5;
export type RoomKind = typeof ROOM_FREE | typeof ROOM_ABOVE_LOWEST | typeof ROOM_FREE_BAND | typeof ROOM_NON_PROD | typeof ROOM_PROD;

/** ALL_ROOM_KINDS: every grid, as a bit set (bit k = room kind k). */
export const ALL_ROOM_KINDS = (1 << ROOM_KINDS) - 1;

/**
 * roomKindsMovedBy: the grids (bit set) whose room a task of this priority moves when it is placed, removed or its
 * reservation changes. Every task moves resAll; a priority-0 task moves lowestRes by the same amount and a free-band
 * task freeBandRes, which leaves their grids where they were; only prod tasks move prodRes and prodLimit. (Amounts
 * are integers, so the sums are exact and "the same amount" is exactly the same.)
 */
export function roomKindsMovedBy(priority: number): number {
  if (isProd(priority)) return ALL_ROOM_KINDS;
  let kinds = 1 << ROOM_FREE;
  if (priority > 0) kinds |= 1 << ROOM_ABOVE_LOWEST;
  if (priority > FREE_MAX) kinds |= 1 << ROOM_FREE_BAND;
  return kinds;
}

/** ROOM_CPU_BUCKETS, ROOM_RAM_BUCKETS: grid size; the top bucket holds everything above (2^19 millicores, 2^21 MiB). */
export const ROOM_CPU_BUCKETS = 40;
export const ROOM_RAM_BUCKETS = 44;
const CELLS = ROOM_CPU_BUCKETS * ROOM_RAM_BUCKETS;
const MIB = 1024 * 1024;

/** roomKindOf: the grid whose room bounds what a candidate of this priority can get on any machine. */
export function roomKindOf(priority: number): RoomKind {
  if (isProd(priority)) return ROOM_PROD;
  if (priority <= 0) return ROOM_FREE;
  if (priority === 1) return ROOM_ABOVE_LOWEST;
  // FREE_MAX + 1 is the lowest batch priority: below it there are only free-band tasks.
  if (priority <= FREE_MAX + 1) return ROOM_FREE_BAND;
  return ROOM_NON_PROD;
}

/**
 * bucketOf maps an amount to its bucket. With x = floor(amount) (an integer), bucket i >= 1 holds
 * x in [L_i, L_{i+1}) with L increasing; so for a request q (x_q = floor(q), k = bucketOf(q)): a room r in a
 * bucket i < k has floor(r) < L_k <= x_q, hence r < x_q <= q; a room in a bucket i > k has floor(r) >= L_{k+1}
 * > x_q, hence r >= x_q + 1 > q. Both strict, so the grid alone decides every machine outside bucket k.
 */
export function bucketOf(amount: number, buckets: number): number {
  if (!(amount >= 1)) return 0;
  const x = amount >= 2 ** 31 ? 2 ** 31 - 1 : Math.floor(amount);
  const octave = 31 - Math.clz32(x);
  const half = octave === 0 ? 0 : (x >>> (octave - 1)) & 1;
  const b = 1 + 2 * octave + half;
  return b < buckets ? b : buckets - 1;
}

export function cpuBucket(cpuMillis: number): number {
  return bucketOf(cpuMillis, ROOM_CPU_BUCKETS);
}

export function ramBucket(ramBytes: number): number {
  return bucketOf(ramBytes / MIB, ROOM_RAM_BUCKETS);
}

/** Counts of what a query ruled out by the grid alone, per reason (cpu short, else ram short). */
export interface RoomShortCounts {
  cpuShort: number;
  ramShort: number;
}

export class RoomIndex {
  /** members[kind][cell]: machine slots in that grid cell, unordered (swap-remove). */
  private readonly members: number[][][] = [];
  /** cellOf[kind][slot]: the slot's grid cell, -1 when not indexed (not UP, or empty). */
  private cellOf: Int32Array[] = [];
  private posOf: Int32Array[] = [];
  /** colCount[kind][i]: machines in cpu bucket i (all ram buckets), for the cpu-short count in O(buckets). */
  private readonly colCount: Int32Array[] = [];
  /** cellCount[kind][cell]: machines per cell, a flat typed array so queries read sizes without touching the lists. */
  private readonly cellCount: Int32Array[] = [];
  /**
   * cellFreed[kind][cell]: at least the newest freed-log stamp (CellSnapshot.lastFreedSeq) of any machine in the
   * cell (never lowered when one leaves), so collectFreedSince skips the cells where nothing was freed.
   */
  private readonly cellFreed: Float64Array[] = [];
  private capacity = 0;
  // prepare()'s cells and their running totals.
  private readonly prepCells = new Int32Array(CELLS);
  private readonly prepEnds = new Int32Array(CELLS);
  private prepCount = 0;
  private prepKind = 0;

  constructor() {
    for (let k = 0; k < ROOM_KINDS; k++) {
      const cells: number[][] = [];
      for (let c = 0; c < CELLS; c++) cells.push([]);
      this.members.push(cells);
      this.cellOf.push(new Int32Array(0));
      this.posOf.push(new Int32Array(0));
      this.colCount.push(new Int32Array(ROOM_CPU_BUCKETS));
      this.cellCount.push(new Int32Array(CELLS));
      this.cellFreed.push(new Float64Array(CELLS).fill(-1));
    }
  }

  /** ensure grows the per-slot arrays to hold `n` slots. */
  ensure(n: number): void {
    if (n <= this.capacity) return;
    for (let k = 0; k < ROOM_KINDS; k++) {
      const c = new Int32Array(n).fill(-1);
      c.set(this.cellOf[k] as Int32Array);
      this.cellOf[k] = c;
      const p = new Int32Array(n);
      p.set(this.posOf[k] as Int32Array);
      this.posOf[k] = p;
    }
    this.capacity = n;
  }

  /**
   * set files slot under (cpu, ram) room in grid `kind`; the snapshot calls it whenever the room may have moved.
   * `freedAt` is the slot's freed-log stamp (CellSnapshot.lastFreedSeq).
   */
  set(kind: number, slot: number, cpuRoom: number, ramRoom: number, freedAt: number): void {
    const cell = cpuBucket(cpuRoom) * ROOM_RAM_BUCKETS + ramBucket(ramRoom);
    const cellOf = this.cellOf[kind] as Int32Array;
    const old = cellOf[slot] as number;
    if (old === cell) return;
    if (old >= 0) this.unlink(kind, slot, old);
    const freed = this.cellFreed[kind] as Float64Array;
    if ((freed[cell] as number) < freedAt) freed[cell] = freedAt;
    const list = (this.members[kind] as number[][])[cell] as number[];
    (this.posOf[kind] as Int32Array)[slot] = list.length;
    list.push(slot);
    cellOf[slot] = cell;
    const cc = this.cellCount[kind] as Int32Array;
    cc[cell] = (cc[cell] as number) + 1;
    const col = this.colCount[kind] as Int32Array;
    const i = (cell / ROOM_RAM_BUCKETS) | 0;
    col[i] = (col[i] as number) + 1;
  }

  /** noteFreed records that slot was logged as freed at stamp `seq` (in every grid's cell it is filed in). */
  noteFreed(slot: number, seq: number): void {
    if (slot >= this.capacity) return;
    for (let k = 0; k < ROOM_KINDS; k++) {
      const cell = (this.cellOf[k] as Int32Array)[slot] as number;
      const freed = this.cellFreed[k] as Float64Array;
      if (cell >= 0 && (freed[cell] as number) < seq) freed[cell] = seq;
    }
  }

  /** remove takes slot out of every grid (machine not UP, or gone). */
  remove(slot: number): void {
    if (slot >= this.capacity) return;
    for (let k = 0; k < ROOM_KINDS; k++) {
      const old = (this.cellOf[k] as Int32Array)[slot] as number;
      if (old >= 0) this.unlink(k, slot, old);
    }
  }

  private unlink(kind: number, slot: number, cell: number): void {
    const list = (this.members[kind] as number[][])[cell] as number[];
    const pos = this.posOf[kind] as Int32Array;
    const p = pos[slot] as number;
    assert(list[p] === slot, 'RoomIndex: slot not where its position says');
    const last = list.pop() as number;
    if (last !== slot) {
      list[p] = last;
      pos[last] = p;
    }
    (this.cellOf[kind] as Int32Array)[slot] = -1;
    const cc = this.cellCount[kind] as Int32Array;
    cc[cell] = (cc[cell] as number) - 1;
    const col = this.colCount[kind] as Int32Array;
    const i = (cell / ROOM_RAM_BUCKETS) | 0;
    col[i] = (col[i] as number) - 1;
  }

  /** indexed says whether slot is in grid `kind` (tests). */
  cellOfSlot(kind: number, slot: number): number {
    return slot < this.capacity ? ((this.cellOf[kind] as Int32Array)[slot] as number) : -1;
  }

  /**
   * supersetSize counts the machines a query for (needCpu, needRam) must look at one by one: every bucket above
   * the request's in both dimensions, plus the request's own cpu bucket column (where cpu alone cannot decide).
   * Counting stops once past `atMost` (the answer is then some number above it).
   */
  supersetSize(kind: number, needCpu: number, needRam: number, atMost = Infinity): number {
    const k = cpuBucket(needCpu);
    const j0 = ramBucket(needRam);
    const cc = this.cellCount[kind] as Int32Array;
    const col = this.colCount[kind] as Int32Array;
    let n = col[k] as number;
    for (let i = k + 1; i < ROOM_CPU_BUCKETS && n <= atMost; i++) {
      if ((col[i] as number) === 0) continue;
      const base = i * ROOM_RAM_BUCKETS;
      for (let j = j0; j < ROOM_RAM_BUCKETS; j++) n += cc[base + j] as number;
    }
    return n;
  }

  /**
   * hasRoomAbove: some machine's room is above (needCpu, needRam) in both dimensions by a whole bucket, so it fits
   * both for certain (the grid alone decides; supersetSize also counts the request's own column, where it may not).
   * Stops at the first one.
   */
  hasRoomAbove(kind: number, needCpu: number, needRam: number): boolean {
    const k = cpuBucket(needCpu);
    const j0 = ramBucket(needRam);
    const cc = this.cellCount[kind] as Int32Array;
    const col = this.colCount[kind] as Int32Array;
    for (let i = k + 1; i < ROOM_CPU_BUCKETS; i++) {
      if ((col[i] as number) === 0) continue;
      const base = i * ROOM_RAM_BUCKETS;
      for (let j = j0 + 1; j < ROOM_RAM_BUCKETS; j++) if ((cc[base + j] as number) > 0) return true;
    }
    return false;
  }

  /**
   * collect writes into out the machines supersetSize counted (out must hold that many) and returns how many,
   * filling `short` with the machines ruled out by the grid alone: below the request in cpu (cpu short), or
   * above it in cpu and below it in ram (ram short). Order is deterministic: by grid cell, then insertion.
   */
  collect(kind: number, needCpu: number, needRam: number, out: Int32Array, short: RoomShortCounts): number {
    const k = cpuBucket(needCpu);
    const j0 = ramBucket(needRam);
    const cells = this.members[kind] as number[][];
    const cc = this.cellCount[kind] as Int32Array;
    const col = this.colCount[kind] as Int32Array;
    let cpuShort = 0;
    for (let i = 0; i < k; i++) cpuShort += col[i] as number;
    let ramShort = 0;
    let n = 0;
    for (let i = k; i < ROOM_CPU_BUCKETS; i++) {
      if ((col[i] as number) === 0) continue;
      const base = i * ROOM_RAM_BUCKETS;
      for (let j = 0; j < ROOM_RAM_BUCKETS; j++) {
        if ((cc[base + j] as number) === 0) continue;
        const list = cells[base + j] as number[];
        if (i > k && j < j0) {
          ramShort += list.length;
          continue;
        }
        for (let p = 0; p < list.length; p++) out[n++] = list[p] as number;
      }
    }
    short.cpuShort = cpuShort;
    short.ramShort = ramShort;
    return n;
  }

  /**
   * collectFreedSince writes into out the machines of the superset for (needCpu, needRam) that may fit and whose
   * freed-log stamp (`freedAt`, CellSnapshot.lastFreedSeq) is at least `since`, in collect's order, and returns how
   * many. Left out: cells where nothing was freed since, and the cells of the request's own cpu column below its ram
   * bucket (certainly short of ram; on a full cell most of a small request's superset, and a recheck would only
   * reject them one by one). out must hold the superset.
   */
  collectFreedSince(kind: number, needCpu: number, needRam: number, since: number, freedAt: Float64Array, out: Int32Array): number {
    const k = cpuBucket(needCpu);
    const j0 = ramBucket(needRam);
    const cells = this.members[kind] as number[][];
    const cc = this.cellCount[kind] as Int32Array;
    const col = this.colCount[kind] as Int32Array;
    const freed = this.cellFreed[kind] as Float64Array;
    let n = 0;
    for (let i = k; i < ROOM_CPU_BUCKETS; i++) {
      if ((col[i] as number) === 0) continue;
      const base = i * ROOM_RAM_BUCKETS;
      for (let j = j0; j < ROOM_RAM_BUCKETS; j++) {
        const cell = base + j;
        if ((cc[cell] as number) === 0 || (freed[cell] as number) < since) continue;
        const list = cells[cell] as number[];
        for (let p = 0; p < list.length; p++) {
          const m = list[p] as number;
          if ((freedAt[m] as number) >= since) out[n++] = m;
        }
      }
    }
    return n;
  }

  /**
   * prepare lists the grid cells supersetSize counts for (needCpu, needRam), with running totals, and returns the
   * superset's size; member(i) then names its i-th machine (in collect's order) without copying the superset.
   * Valid until the next change to the index.
   */
  prepare(kind: number, needCpu: number, needRam: number): number {
    const k = cpuBucket(needCpu);
    const j0 = ramBucket(needRam);
    const cc = this.cellCount[kind] as Int32Array;
    const col = this.colCount[kind] as Int32Array;
    let n = 0;
    let total = 0;
    for (let i = k; i < ROOM_CPU_BUCKETS; i++) {
      if ((col[i] as number) === 0) continue;
      const base = i * ROOM_RAM_BUCKETS;
      for (let j = i === k ? 0 : j0; j < ROOM_RAM_BUCKETS; j++) {
        const len = cc[base + j] as number;
        if (len === 0) continue;
        this.prepCells[n] = base + j;
        total += len;
        this.prepEnds[n] = total;
        n++;
      }
    }
    this.prepCount = n;
    this.prepKind = kind;
    return total;
  }

  /**
   * sampleEvenly writes `count` machines of the prepared superset (size n) into out: those at indices
   * floor((start + i) * n / count) for i < count, start in [0, 1): a systematic sample, proportional to each
   * cell's size, read in one sequential sweep. count <= n.
   */
  sampleEvenly(n: number, count: number, start: number, out: Int32Array): void {
    assert(count <= n && start >= 0 && start < 1, 'RoomIndex.sampleEvenly: bad arguments');
    const cells = this.members[this.prepKind] as number[][];
    let c = 0;
    let cellStart = 0;
    let list = cells[this.prepCells[0] as number] as number[];
    for (let i = 0; i < count; i++) {
      const idx = Math.floor(((start + i) * n) / count);
      while (idx >= (this.prepEnds[c] as number)) {
        cellStart = this.prepEnds[c] as number;
        c++;
        list = cells[this.prepCells[c] as number] as number[];
      }
      out[i] = list[idx - cellStart] as number;
    }
  }

  /** member returns machine i (0 <= i < the size prepare returned) of the prepared superset. */
  member(i: number): number {
    let lo = 0;
    let hi = this.prepCount - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((this.prepEnds[mid] as number) > i) hi = mid;
      else lo = mid + 1;
    }
    const start = lo === 0 ? 0 : (this.prepEnds[lo - 1] as number);
    const list = (this.members[this.prepKind] as number[][])[this.prepCells[lo] as number] as number[];
    const m = list[i - start];
    assert(m !== undefined, 'RoomIndex.member: index outside the prepared superset');
    return m;
  }
}
