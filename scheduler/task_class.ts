// TaskClass is an equivalence class (B15 §3.4): tasks with identical requirements (job, priority, resources,
// constraints, spread limits) share one feasibility-and-scoring computation and one cache of candidate machines.
// With equivalence classes switched off every task is a class of its own, so the same code measures both.
import { assert } from '../model/assert';
import { InvalidArgument } from '../model/errors';
import { isProd, validatePriority } from '../model/priority';
import { MAX_CONSTRAINTS, MAX_CONSTRAINT_VALUES } from '../cells/limits';
import { roomKindOf, type RoomKind } from './room_index';
import type { CellSnapshot } from './snapshot';
import type { TopK } from './top_k';
import type { QueueEntry } from './pending_queue';
import { OP_EQ, OP_EXISTS, OP_IN, OP_NE, OP_NOT_EXISTS, type ParkedVerdicts, type SchedConstraint, type SchedTask } from './types';

const EMPTY_COLUMN = new Int32Array(0);

/**
 * How a candidate fits (TaskClass.candFit): as things are, or after evictions. A machine that needs evictions
 * is first scored with the least preemption cost it could have (preemptionCostFloor, an upper bound of its score);
 * its victims are searched, and its score made exact, only when it is the best candidate (Scheduler.exactBest).
 */
export const FIT_FREE = 0;
export const FIT_PREEMPT_BOUND = 1;
export const FIT_PREEMPT_EXACT = 2;

/** validateTask checks a task that came from outside; each problem names its field. */
export function validateTask(t: SchedTask): void {
  if (!Number.isSafeInteger(t.id) || t.id < 0) throw new InvalidArgument('task.id', `must be a non-negative integer, got ${t.id}`);
  validatePriority(t.priority, 'task.priority');
  // Field by field rather than Object.entries: every evicted victim is validated again on its way back to the queue.
  checkCount(t.limit.cpuMillis, 'task.limit.cpuMillis');
  checkCount(t.limit.ramBytes, 'task.limit.ramBytes');
  checkCount(t.limit.diskBytes, 'task.limit.diskBytes');
  checkCount(t.limit.ports, 'task.limit.ports');
  if (!Number.isInteger(t.job) || t.job <= 0) throw new InvalidArgument('task.job', 'must be an interned job id');
  if (!Number.isInteger(t.user) || t.user <= 0) throw new InvalidArgument('task.user', 'must be an interned user id');
  if (t.constraints.length > MAX_CONSTRAINTS) throw new InvalidArgument('task.constraints', `at most ${MAX_CONSTRAINTS}`);
  // A loop, not forEach: every evicted victim comes back through here, and a closure per call is garbage.
  for (let i = 0; i < t.constraints.length; i++) {
    const c = t.constraints[i] as SchedConstraint;
    const f = `task.constraints[${i}]`;
    if (!Number.isInteger(c.key) || c.key <= 0) throw new InvalidArgument(`${f}.key`, 'must be an interned attribute key');
    if (c.values.length > MAX_CONSTRAINT_VALUES) throw new InvalidArgument(`${f}.values`, `at most ${MAX_CONSTRAINT_VALUES}`);
    switch (c.op) {
      case OP_EQ:
      case OP_NE:
        if (c.values.length !== 1) throw new InvalidArgument(`${f}.values`, '= and != take exactly one value');
        break;
      case OP_IN:
        if (c.values.length === 0) throw new InvalidArgument(`${f}.values`, 'in takes at least one value');
        break;
      case OP_EXISTS:
      case OP_NOT_EXISTS:
        if (c.values.length !== 0) throw new InvalidArgument(`${f}.values`, 'exists takes no value');
        break;
      default:
        throw new InvalidArgument(`${f}.op`, `unknown operator ${String(c.op)}`);
    }
  }
  checkCount(t.spread.maxPerMachine, 'task.spread.maxPerMachine');
  checkCount(t.spread.maxPerRack, 'task.spread.maxPerRack');
  checkCount(t.spread.maxPerPowerDomain, 'task.spread.maxPerPowerDomain');
}

function checkCount(v: unknown, field: string): void {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new InvalidArgument(field, `must be a non-negative integer, got ${String(v)}`);
}

/** classKey is the equivalence key: everything feasibility and scoring read from a task, and nothing else. */
export function classKey(t: SchedTask): string {
  const l = t.limit;
  let k = `${t.job}|${t.priority}|${l.cpuMillis},${l.ramBytes},${l.diskBytes},${l.ports}|${t.spread.maxPerMachine},${t.spread.maxPerRack},${t.spread.maxPerPowerDomain}`;
  for (const c of t.constraints) k += `|${c.key}${c.op}:${c.values.join(',')}`;
  return k;
}

/**
 * sameClassKey: classKey(a) === classKey(b), without building either string, for tasks without constraints (false
 * when either has some): the scheduler's shortcut for runs of one job's tasks. Reads exactly the fields classKey does.
 */
export function sameClassKey(a: SchedTask, b: SchedTask | undefined): boolean {
  if (b === undefined) return false;
  if (a.job !== b.job || a.priority !== b.priority || a.constraints.length !== 0 || b.constraints.length !== 0) return false;
  const la = a.limit;
  const lb = b.limit;
  if (la.cpuMillis !== lb.cpuMillis || la.ramBytes !== lb.ramBytes || la.diskBytes !== lb.diskBytes || la.ports !== lb.ports) return false;
  const sa = a.spread;
  const sb = b.spread;
  return sa.maxPerMachine === sb.maxPerMachine && sa.maxPerRack === sb.maxPerRack && sa.maxPerPowerDomain === sb.maxPerPowerDomain;
}

/** STALE_RACKS_MAX: racks a class notes as stale one by one before it treats all its candidates as stale. */
export const STALE_RACKS_MAX = 64;

export class TaskClass {
  readonly priority: number;
  readonly prod: boolean;
  /** roomKind: which room-index grid bounds what this class could get on a machine (room_index.ts). */
  readonly roomKind: RoomKind;
  readonly job: number;
  readonly needCpu: number;
  readonly needRam: number;
  readonly needDisk: number;
  readonly needPorts: number;
  readonly maxPerMachine: number;
  readonly maxPerRack: number;
  readonly maxPerPower: number;
  readonly hasSpread: boolean;
  /** hasDomainSpread: rack or power-domain limits, whose counts change without this machine's generation. */
  readonly hasDomainSpread: boolean;
  readonly conKeys: Int32Array;
  readonly conOps: Int32Array;
  readonly conValues: Int32Array[];
  conColumns: Int32Array[];
  columnsEpoch = -1;

  // --- candidate cache (relaxed randomization + score caching) ---
  cand: Int32Array;
  candScore: Float64Array;
  candGen: Uint32Array;
  candDrift: Uint32Array;
  /** candFit: FIT_FREE, or the machine needs evictions and its score is a bound (FIT_PREEMPT_BOUND) or exact. */
  candFit: Uint8Array;
  nCand = 0;
  /** cycle: a walk over the machine permutation from a random start; each slot is visited once per cycle. */
  layoutEpoch = -1;
  cycleStart = 0;
  visited = 0;
  /** reasonCounts: per reason code, machines rejected during this cycle (the why-pending histogram). */
  reasonCounts: Int32Array;
  /** exhausted: the cycle ended with no candidate; valid while no machine was freed since exhaustedFreedSeq. */
  exhausted = false;
  exhaustedFreedSeq = 0;
  /** siblings: the live classes of this class's job, itself included (one array shared by them; scheduler.ts staleRack). */
  siblings: TaskClass[] | undefined = undefined;
  /**
   * syncSeq: freedSeq as of this class's last complete view of the cell (walk finished, or freed log rechecked):
   * every machine feasible for it now is a candidate or was logged as freed after syncSeq. Donor classes rely on it.
   */
  syncSeq = 0;
  /** walkFromSeq: freedSeq when the current cycle's walk began (the walk's syncSeq once it completes). */
  walkFromSeq = 0;
  /**
   * partialView: the cycle is a sample of the room index's superset (visited counts as complete so the walk does
   * not top it up, but the view is not complete: never a donor, never exhausted; a fresh cycle when it runs dry).
   */
  partialView = false;
  /**
   * staleRacks: racks where a task of this class's job was placed or removed since the candidates were last
   * refreshed. There the job's spreading term changed without the machines' generations: the candidates in them are
   * evaluated again at the next refresh (scheduler.ts staleRack, refreshCandidates). More than STALE_RACKS_MAX of
   * them make every candidate stale (allRacksStale).
   */
  readonly staleRacks: number[] = [];
  allRacksStale = false;
  /** donor: the class is in the scheduler's donor pool (complete walk, no constraints, no spread limits). */
  donor = false;
  /** dropped: evicted from the scheduler's cache; tasks that still point here look their class up again. */
  dropped = false;
  verdict: string | undefined;
  /**
   * parked: queue entries of this exhausted class that the scheduler answers from `verdict` without ordering or
   * looking at them one by one (scheduler.ts, parking); isParked: the class is in the scheduler's parked set.
   */
  parked: QueueEntry[] = [];
  isParked = false;
  /**
   * block, tail: the verdict of `parked` as one or two objects (the plan's parked blocks, scheduler.ts emitParked):
   * the first `blockEntries` entries are in them; the entries after those were parked since. Valid while
   * parkedDirty is false (a task removed from the queue since sets it; a wake trims them), so a pass hands them out
   * again without touching the entries (under a new text when the verdict changed).
   */
  block: ParkedVerdicts | undefined = undefined;
  tail: ParkedVerdicts | undefined = undefined;
  blockEntries = 0;
  parkedDirty = true;
  /** freeLookPass: the pass in which this class last dropped a cached sample to look for free room (placeTask). */
  freeLookPass = 0;
  /** queuedLeft: this class's tasks in pass queuedPass's order not yet decided (besides the one being decided). */
  queuedPass = 0;
  queuedLeft = 0;
  /** lastUse: the scheduler's use counter when this class was last used (least recently used go first). */
  lastUse = 0;
  placedInCycle = 0;

  constructor(
    readonly key: string,
    t: SchedTask,
    reasonSlots: number,
    initialCandidates: number,
  ) {
    this.priority = t.priority;
    this.prod = isProd(t.priority);
    this.roomKind = roomKindOf(t.priority);
    this.job = t.job;
    this.needCpu = t.limit.cpuMillis;
    this.needRam = t.limit.ramBytes;
    this.needDisk = t.limit.diskBytes;
    this.needPorts = t.limit.ports;
    this.maxPerMachine = t.spread.maxPerMachine;
    this.maxPerRack = t.spread.maxPerRack;
    this.maxPerPower = t.spread.maxPerPowerDomain;
    this.hasDomainSpread = this.maxPerRack > 0 || this.maxPerPower > 0;
    this.hasSpread = this.maxPerMachine > 0 || this.hasDomainSpread;
    const n = t.constraints.length;
    this.conKeys = new Int32Array(n);
    this.conOps = new Int32Array(n);
    this.conValues = [];
    t.constraints.forEach((c, i) => {
      this.conKeys[i] = c.key;
      this.conOps[i] = c.op;
      this.conValues.push(Int32Array.from(c.values));
    });
    this.conColumns = new Array<Int32Array>(n).fill(EMPTY_COLUMN);
    this.reasonCounts = new Int32Array(reasonSlots + n);
    this.cand = new Int32Array(initialCandidates);
    this.candScore = new Float64Array(initialCandidates);
    this.candGen = new Uint32Array(initialCandidates);
    this.candDrift = new Uint32Array(initialCandidates);
    this.candFit = new Uint8Array(initialCandidates);
  }

  /** refreshColumns points the compiled constraints at the snapshot's current attribute columns. */
  refreshColumns(snap: CellSnapshot): void {
    if (this.columnsEpoch === snap.columnsEpoch) return;
    for (let i = 0; i < this.conKeys.length; i++) this.conColumns[i] = snap.column(this.conKeys[i] as number);
    this.columnsEpoch = snap.columnsEpoch;
  }

  /** pushCandidate appends a feasible machine with its score; arrays grow by doubling (entries are budgeted by the scheduler). */
  pushCandidate(slot: number, score: number, gen: number, drift: number, fit: number): void {
    if (this.nCand === this.cand.length) {
      const n = Math.max(8, this.cand.length * 2);
      const c = new Int32Array(n);
      c.set(this.cand);
      this.cand = c;
      const s = new Float64Array(n);
      s.set(this.candScore);
      this.candScore = s;
      const g = new Uint32Array(n);
      g.set(this.candGen);
      this.candGen = g;
      const dr = new Uint32Array(n);
      dr.set(this.candDrift);
      this.candDrift = dr;
      const p = new Uint8Array(n);
      p.set(this.candFit);
      this.candFit = p;
    }
    const i = this.nCand++;
    this.cand[i] = slot;
    this.candScore[i] = score;
    this.candGen[i] = gen;
    this.candDrift[i] = drift;
    this.candFit[i] = fit;
  }

  /** indexOf: the entry of candidate machine slot m (which must be one). */
  indexOf(m: number): number {
    for (let i = 0; i < this.nCand; i++) if (this.cand[i] === m) return i;
    assert(false, `slot ${m} is not a candidate`);
  }

  /** dropCandidate removes entry i by moving the last entry into its place. */
  dropCandidate(i: number): void {
    assert(i >= 0 && i < this.nCand, 'dropCandidate out of range');
    const last = --this.nCand;
    if (i !== last) {
      this.cand[i] = this.cand[last] as number;
      this.candScore[i] = this.candScore[last] as number;
      this.candGen[i] = this.candGen[last] as number;
      this.candDrift[i] = this.candDrift[last] as number;
      this.candFit[i] = this.candFit[last] as number;
    }
  }

  /**
   * adoptStorage takes over another (dropped) class's candidate arrays when they are larger than ours, so
   * single-use classes (equivalence classes off) do not allocate a cell's worth of arrays per task.
   */
  adoptStorage(from: TaskClass): void {
    if (from.cand.length <= this.cand.length || this.nCand !== 0) return;
    this.cand = from.cand;
    this.candScore = from.candScore;
    this.candGen = from.candGen;
    this.candDrift = from.candDrift;
    this.candFit = from.candFit;
    from.cand = new Int32Array(0);
    from.candScore = new Float64Array(0);
    from.candGen = new Uint32Array(0);
    from.candDrift = new Uint32Array(0);
    from.candFit = new Uint8Array(0);
    from.nCand = 0;
  }

  /**
   * shrink gives back candidate storage beyond `keep` entries once the class holds few candidates (an exhausted
   * class on a loaded cell would otherwise keep a whole cell's worth of slots).
   */
  shrink(keep: number): void {
    if (this.cand.length <= keep || this.nCand > keep) return;
    this.cand = this.cand.slice(0, keep);
    this.candScore = this.candScore.slice(0, keep);
    this.candGen = this.candGen.slice(0, keep);
    this.candDrift = this.candDrift.slice(0, keep);
    this.candFit = this.candFit.slice(0, keep);
  }

  /**
   * keepBest keeps the k candidates with the best cached scores (ties: lower slot) and drops the rest. Used to turn a large complete view into a sample, so each task rechecks k candidates, not hundreds.
   */
  keepBest(k: number, top: TopK): void {
    if (this.nCand <= k) return;
    top.reset(k);
    for (let i = 0; i < this.nCand; i++) top.offer(i, this.candScore[i] as number, this.cand[i] as number);
    // Compact the kept entries to the front: ascending index order, so no kept entry is overwritten before it moves.
    const keep = new Uint8Array(this.nCand);
    for (let i = 0; i < top.size; i++) keep[top.id(i)] = 1;
    let w = 0;
    for (let i = 0; i < this.nCand; i++) {
      if (keep[i] === 0) continue;
      this.cand[w] = this.cand[i] as number;
      this.candScore[w] = this.candScore[i] as number;
      this.candGen[w] = this.candGen[i] as number;
      this.candDrift[w] = this.candDrift[i] as number;
      this.candFit[w] = this.candFit[i] as number;
      w++;
    }
    this.nCand = w;
  }

  /** entries is what this class costs in the scheduler's cache budget. */
  get entries(): number {
    return this.cand.length;
  }

  /** markRackStale notes that the job's count of tasks in `rack` changed (a class without candidates has none to mark). */
  markRackStale(rack: number): void {
    const racks = this.staleRacks;
    if (this.nCand === 0 || this.allRacksStale || racks.includes(rack)) return;
    if (racks.length < STALE_RACKS_MAX) racks.push(rack);
    else this.allRacksStale = true;
  }

  /** clearStaleRacks: the candidates were all scored again, or forgotten. */
  clearStaleRacks(): void {
    // Setting an array's length calls into the runtime: most classes have none to clear.
    if (this.staleRacks.length !== 0) this.staleRacks.length = 0;
    this.allRacksStale = false;
  }

  /** startCycle forgets candidates and counts and starts a fresh walk at `start`. */
  startCycle(start: number, layoutEpoch: number): void {
    this.nCand = 0;
    this.clearStaleRacks();
    this.placedInCycle = 0;
    this.cycleStart = start;
    this.visited = 0;
    this.layoutEpoch = layoutEpoch;
    this.reasonCounts.fill(0);
    this.exhausted = false;
    this.partialView = false;
    this.verdict = undefined;
  }
}
