// Scheduler: one pass over the pending queue against the cached cell (B15 §3.2, §3.4). Snapshot and queue in,
// Plan out; no IO, time from the injected Clock, randomness from the injected Rng, so a seed replays a pass.
// The pipeline for one task reads top to bottom in placeTask() below, in the manner of Nomad's stack.go.
import { assert } from '../model/assert';
import type { Clock } from '../model/clock';
import { InvalidArgument } from '../model/errors';
import type { Rng } from '../model/rng';
import type { SchedulerConfig } from '../cells/config';
import { MAX_MACHINES_PER_CELL, MAX_VICTIMS_PER_ASSIGNMENT, PLAN_MAX_ASSIGNMENTS, SCHED_CACHE_MAX_ENTRIES, SCHED_FREED_LOG_ENTRIES, SCHED_MAX_CLASSES } from '../cells/limits';
import { availableWithPreemption, fitsFree } from './charged';
import { avoidFilter, CODE_AVOIDED_PAIRING } from './filters/avoid';
import { constraintsFilter } from './filters/constraints';
import { portsFilter } from './filters/ports';
import { CODE_INSUFFICIENT_CPU, CODE_INSUFFICIENT_RAM, FIT_UNKNOWN, preemptionShortfall, resourcesFilter } from './filters/resources';
import { CODE_MACHINE_DOWN, CODE_MACHINE_DRAINING, machineStateFilter } from './filters/machine_state';
import { ROOM_FREE, type RoomShortCounts } from './room_index';
import { spreadFilter } from './filters/spread';
import type { PendingQueue, QueueEntry } from './pending_queue';
import { CODE_TOO_MANY_VICTIMS, VictimFinder } from './preemption';
import { CODE_SKIP, REASON_SLOTS, verdictLine } from './reasons';
import { fitScore, MIXING_WEIGHT, policyCode, scoreMachine, SPREADING_WEIGHT } from './scorers/compose';
import { PREEMPTION_BASE_COST, preemptionCost, preemptionCostFloor } from './scorers/preemption_cost';
import { DIMS, DIM_CPU, DIM_RAM, growRefs, type CellSnapshot } from './snapshot';
import { classKey, FIT_FREE, FIT_PREEMPT_BOUND, FIT_PREEMPT_EXACT, sameClassKey, TaskClass } from './task_class';
import { TopK } from './top_k';
import { MACHINE_DOWN, MACHINE_DRAINING, MACHINE_UP, type Assignment, type ParkedVerdicts, type PassStats, type Plan, type SchedTask, type Verdict } from './types';

/**
 * DONOR_POOL: how many recent complete-walk classes a class may inherit from. The scan is linear, a few
 * microseconds, against a walk of the whole cell; it runs only when a class would otherwise walk far.
 */
/**
 * HOT_MACHINES: besides its own sample, a task also scores the machines the last HOT_MACHINES placements went to.
 * A packing policy piles onto those and a random sample rarely holds them; with them, relaxed randomization
 * places within 0.1-0.4% of an exhaustive search on the 2011 trace (scheduler/README.md). A class's last task of
 * the pass skips them (most online classes hold one task: victims going back to pending): 6-8% of an online pass,
 * for the same placements within the run-to-run differences (scheduler/README.md).
 */
export const HOT_MACHINES = 16;

export type SampleOrder = 'best' | 'random';
/** SAMPLE_ORDER: how a class samples the room index's superset; chosen from the table in scheduler/README.md. */
export const SAMPLE_ORDER: SampleOrder = 'best';

/**
 * BEST_SCAN_MAX: the most superset machines bestOfSuperset ranks per sample (a strided subset beyond it). On an
 * empty cell the superset is the whole cell; ranking 256 spread-out machines by fit already meets the issue's
 * quality bounds on the 2011 trace, and more costs CPU for little (trade-off table in scheduler/README.md).
 */
export const BEST_SCAN_MAX = 256;

/**
 * PREEMPT_SCAN_MAX: the most machines a class ranks in its own superset once the free-room stage found nothing
 * feasible (most of what it ranks then needs evictions). Measured on 20 online passes of the 2011 trace, seed 1
 * (scheduler/README.md): with 256 (BEST_SCAN_MAX) the passes placed 33,712 tasks for 22,105 evictions; with 128,
 * 34,350 for 22,469; with 64, 34,432 for 22,121 (seeds 2 / 3: 33,448 -> 34,349 and 34,286 -> 34,781 placed,
 * evictions within 1%); with 32, 34,484 for 22,248. Why a smaller scan places more is not measured (a likely
 * reason: ranked by fit, a larger scan puts more classes on the same tightest machines); it also costs less. The
 * bulk pass evicts nothing and moves by a few dozen placements (seeds 1-3: +32 / +26 / -4).
 */
export const PREEMPT_SCAN_MAX = 64;

/**
 * BEST_SCAN_PER_TASK: bestOfSuperset ranks at most this many superset machines per task the class has left to
 * decide in the pass (up to BEST_SCAN_MAX). A class holding one task (on an online pass, most are victims going
 * back to pending) evaluates a handful of its sample, so ranking 256 machines for it was most of a heavy online
 * pass's sampling cost. Measured on the 2011 trace (scheduler/README.md): 64 made the slowest online pass ~10%
 * faster than 256; 16 takes another ~9% off the online passes (sum of per-pass minima, 3 alternating runs), places
 * as many online, and the bulk pass stays within the bounds (seeds 1-3: -0.26% to -0.30% placed against
 * all-off, stranding +0.6-0.7 points).
 */
export const BEST_SCAN_PER_TASK = 16;

/**
 * SAMPLE_PER_TASK, SAMPLE_MIN: a class evaluates in full at most max(SAMPLE_MIN, SAMPLE_PER_TASK * tasks it has
 * left to decide in the pass) of its sample by fit (the best-ranked; the rest only when none of them is feasible).
 * Measured on the 2011 trace (scheduler/README.md): a third fewer evaluations on the bulk pass and online passes,
 * and seeds 1-3 place as many or more tasks than with every sample evaluated. SAMPLE_MIN went from 8 to 4 with
 * BEST_SCAN_PER_TASK (fewer evaluations per single-task sample); the bulk pass places within 0.05% as many with
 * the same stranding.
 */
export const SAMPLE_PER_TASK = 4;
export const SAMPLE_MIN = 4;

/**
 * commit's scratch: the victims' classes and the evicted tasks (evictAndPlace clears it first). Shared by every
 * Scheduler of the process (commit does not re-enter), so the arrays the compiled code saw during warmUp are the
 * ones a real pass uses.
 */
const VICTIM_CLASSES = new Array<TaskClass | undefined>(MAX_VICTIMS_PER_ASSIGNMENT).fill(undefined);
const EVICTED: SchedTask[] = [];

/** SCORE_BONUS_MAX: the most spreading and mixing (each in [0, 1]) add to the fit term of a machine's score. */
const SCORE_BONUS_MAX = SPREADING_WEIGHT + MIXING_WEIGHT;

/** SchedulerTuning: measured constants, overridable for experiments (the benchmark's --hot and --refresh). */
export interface SchedulerTuning {
  hotMachines: number;
  sampleRefreshPlacements: number;
  /** roomIndex: walks consult the room index (room_index.ts) with relaxed randomization on; off for measurements. */
  roomIndex: boolean;
  /** sampleOrder: a class samples the room index's superset at random (sampleSuperset) or by fit (bestOfSuperset). */
  sampleOrder: SampleOrder;
  /** bestScanMax: machines of the superset bestOfSuperset ranks per sample (BEST_SCAN_MAX). */
  bestScanMax: number;
  /**
   * supersetRecheck: an exhausted class far behind the freed log rechecks the room index's superset filtered by
   * "freed since" (recheckSuperset) instead of the log; the same machines either way (property test), so off only
   * for measurements and that test.
   */
  supersetRecheck: boolean;
}
export const DONOR_POOL = 4096;

/**
 * SAMPLE_REFRESH_PLACEMENTS: after this many placements from one relaxed sample, a class draws a new one.
 * Measured on the 2011 trace: without it all-on placed about 1% fewer tasks than all-off; with it, within 0.3%.
 */
export const SAMPLE_REFRESH_PLACEMENTS = 64;

/** TOP_UP_BUDGET_FACTOR: a class with candidates visits at most this many times `feasibleLimit` machines per task. */
export const TOP_UP_BUDGET_FACTOR = 4;

/**
 * RECHECK_RANK_MIN: an exhausted class that finds more machines freed since (in its superset) ranks them by fit and
 * evaluates the best-ranked, as a sample, instead of evaluating every one (rankAndEvaluate).
 */
export const RECHECK_RANK_MIN = 64;

/** RECENT_VIEWS: size of the ring of freshest complete views an exhausted class may narrow its recheck with. */
export const RECENT_VIEWS = 64;

/** RECHECK_DONOR_MIN_LAG: an exhausted class looks for a fresher view to narrow its recheck only past this many freed entries. */
export const RECHECK_DONOR_MIN_LAG = 16;

/** INHERIT_MIN_REMAINING: a class with fewer machines left to walk than this just walks them. */
export const INHERIT_MIN_REMAINING = 256;

/** INDEX_SAMPLE_FRACTION: a class samples the room index's superset when it is at most this fraction of the cell (1/k). */
export const INDEX_SAMPLE_FRACTION = 2;

/**
 * indexedViewMax: the most machines an indexed view may look at one by one. A sampled walk needs about
 * limit * n / feasible steps to find `limit` machines and a view at most `superset` >= feasible evaluations, so
 * the view wins when superset^2 <= limit * n (and always below a few times the limit).
 */
export function indexedViewMax(limit: number, slots: number): number {
  return Math.max(4 * limit, Math.floor(Math.sqrt(limit * slots)));
}

export interface PassOptions {
  /** maxAssignments bounds the plan (default PLAN_MAX_ASSIGNMENTS); the rest of the queue waits for the next pass. */
  maxAssignments?: number;
}

/**
 * emptyStats: passMs starts as NaN (a double) because a wall clock's milliseconds are doubles. Starting at 0 (a small
 * integer) let the first pass with a real clock change the field's representation, which deoptimized every function
 * that touches the stats, all at once, in the middle of the first bulk pass (`--trace-deopt`: "code dependencies").
 */
function emptyStats(): PassStats {
  return { decisions: 0, placed: 0, pending: 0, preemptions: 0, evaluations: 0, cacheHits: 0, inherited: 0, indexedViews: 0, sampledViews: 0, rankedMachines: 0, supersetRechecks: 0, classes: 0, parkedTasks: 0, wokenClasses: 0, passMs: Number.NaN };
}

export class Scheduler {
  private readonly policy: number;
  /** limit: feasible machines to find before choosing (relaxed randomization); every machine when it is off. */
  private readonly limit: number;
  private readonly classes = new Map<string, TaskClass>();
  /** lastKeyed: the class the last keyed task mapped to, and that task (classFor's shortcut for runs of a job). */
  private lastKeyed: TaskClass | undefined = undefined;
  private lastKeyedTask: SchedTask | undefined = undefined;
  /** jobClasses: the live classes of each job, whose cached scores a placement in the job's rack makes stale. */
  private readonly jobClasses = new Map<number, TaskClass[]>();
  /**
   * slotClass, slotTask: by snapshot task slot, the class of the task this scheduler placed there and that task, so
   * an evicted victim's queue entry starts with its class instead of being keyed again (valid while the snapshot's
   * task in the slot is still that task: classAt). Sized like the snapshot's tables of placed tasks.
   */
  private slotClass: (TaskClass | undefined)[] = [];
  private slotTask: (SchedTask | undefined)[] = [];
  private cacheEntries = 0;
  /** useSeq: a counter stamped on a class at each use (TaskClass.lastUse), so eviction knows the least recent. */
  private useSeq = 0;
  private pass = 0;
  private perm = new Int32Array(0);
  private permEpoch = -1;
  private readonly avail = new Float64Array(DIMS);
  private readonly victims = new VictimFinder();
  private ramPerCpu = 1;
  /** donors: recent classes with a complete walk, from which a new class may inherit its view (inheritWalk). */
  private donors: TaskClass[] = [];
  /** spare: the last dropped single-use class, whose candidate arrays the next new class reuses. */
  private spare: TaskClass | undefined = undefined;
  /** recentViews: a small ring of the classes whose complete view was refreshed most recently (rechecks use it). */
  private readonly recentViews: TaskClass[] = [];
  private recentNext = 0;
  /** seen/stamp: a per-slot visit mark, reset in O(1) by bumping the stamp. */
  private seen = new Uint32Array(0);
  private stamp = 0;
  /** rackMark/rackStamp: per rack, the refresh that marked it stale (refreshCandidates, markRacks). */
  private rackMark = new Uint32Array(0);
  private rackStamp = 0;
  private stats = emptyStats();
  // The best candidate found by refreshCandidates and walk for class bestValid (reset by anything else that
  // changes the candidate list: inheritance, rechecks, new cycles).
  private bestSlot = -1;
  private bestScore = -Infinity;
  private bestFit = FIT_FREE;
  private bestValid: TaskClass | undefined = undefined;
  private readonly hot: Int32Array;
  private hotCount = 0;
  private hotNext = 0;
  // Outputs of evaluate(), kept in fields so the inner loop allocates nothing.
  private evalScore = 0;
  private evalFit = FIT_FREE;
  // The machine (and class) whose victims this.victims holds, searched in the current decision (reset at the start
  // of each: the snapshot changes between decisions); -1: none.
  private victimsSlot = -1;
  private victimsClass: TaskClass | undefined = undefined;

  // The three optimizations, copied from the config: the hot paths then read fields of this object only, whatever
  // object (and hidden class) the caller's config is, so the warm-up's config and a real one do not deoptimize them.
  private readonly scoreCaching: boolean;
  private readonly equivalenceClasses: boolean;
  private readonly relaxedRandomization: boolean;
  private readonly hotMachines: number;
  private readonly sampleRefresh: number;
  private readonly useIndex: boolean;
  /** Per pass: machines DOWN and DRAINING (the room index holds only UP machines), and the indexed view bound. */
  private downMachines = 0;
  private drainingMachines = 0;
  private viewMax = 0;
  private viewScratch = new Int32Array(0);
  private readonly topK = new TopK(64);
  private readonly bestSamples: boolean;
  private readonly bestScanMax: number;
  private readonly supersetRecheck: boolean;
  private readonly viewShort: RoomShortCounts = { cpuShort: 0, ramShort: 0 };
  // bestOfSuperset's scratch: the sample in rank order.
  private rankOrder = new Int32Array(64);
  private rankScore = new Float64Array(64);

  // Parking (examineParked): the exhausted classes holding queued tasks, per priority (priorities high to low).
  private readonly parkToken = {};
  private readonly parkedByPriority = new Map<number, TaskClass[]>();
  private parkedPriorities: number[] = [];
  private parkQueue: PendingQueue | undefined = undefined;
  private parkSnap: CellSnapshot | undefined = undefined;
  /** examinedDownTo: in this pass, parked classes of this priority and above have been examined. */
  private examinedDownTo = Infinity;
  // The pass in progress: its plan so far and its bound.
  private passAssignments: Assignment[] = [];
  private passVerdicts: Verdict[] = [];
  private passParked: ParkedVerdicts[] = [];
  private passMax = 0;

  constructor(
    readonly config: SchedulerConfig,
    private readonly rng: Rng,
    private readonly clock: Clock,
    tuning: Partial<SchedulerTuning> = {},
  ) {
    this.scoreCaching = config.scoreCaching;
    this.equivalenceClasses = config.equivalenceClasses;
    this.relaxedRandomization = config.relaxedRandomization;
    this.hotMachines = tuning.hotMachines ?? HOT_MACHINES;
    this.sampleRefresh = tuning.sampleRefreshPlacements ?? SAMPLE_REFRESH_PLACEMENTS;
    this.useIndex = (tuning.roomIndex ?? true) && config.relaxedRandomization;
    this.bestSamples = this.useIndex && (tuning.sampleOrder ?? SAMPLE_ORDER) === 'best';
    this.bestScanMax = tuning.bestScanMax ?? BEST_SCAN_MAX;
    this.supersetRecheck = this.useIndex && (tuning.supersetRecheck ?? true);
    if (!Number.isInteger(this.bestScanMax) || this.bestScanMax < 1 || this.bestScanMax > MAX_MACHINES_PER_CELL) throw new InvalidArgument('tuning.bestScanMax', `must be in [1, ${MAX_MACHINES_PER_CELL}], got ${this.bestScanMax}`);
    if (!Number.isInteger(this.hotMachines) || this.hotMachines < 0 || this.hotMachines > 1024) throw new InvalidArgument('tuning.hotMachines', `must be in [0, 1024], got ${this.hotMachines}`);
    if (!Number.isInteger(this.sampleRefresh) || this.sampleRefresh < 1) throw new InvalidArgument('tuning.sampleRefreshPlacements', `must be a positive integer, got ${this.sampleRefresh}`);
    this.hot = new Int32Array(Math.max(1, this.hotMachines));
    if (!Number.isInteger(config.feasibleLimit) || config.feasibleLimit < 1 || config.feasibleLimit > MAX_MACHINES_PER_CELL) {
      throw new InvalidArgument('scheduler.feasibleLimit', `must be in [1, ${MAX_MACHINES_PER_CELL}], got ${config.feasibleLimit}`);
    }
    this.policy = policyCode(config.policy);
    this.limit = config.relaxedRandomization ? config.feasibleLimit : Number.MAX_SAFE_INTEGER;
  }

  /** classCount and cachedEntries expose the cache's size (benchmarks, tests). */
  get classCount(): number {
    return this.classes.size;
  }
  get cachedEntries(): number {
    return this.cacheEntries;
  }

  /**
   * schedulePass runs one pass over `queue` against `snap` and returns the plan. It applies the plan to the
   * snapshot as it goes (the scheduler's cached cell must see its own placements, or every task would pick the
   * same machine); placed tasks leave the queue and evicted victims join it. When the master rejects an
   * assignment, the caller undoes it with snap.removeTask() and re-queues the task. Tasks left pending get a
   * verdict. Tasks beyond maxAssignments placements are not looked at in this pass.
   */
  schedulePass(snap: CellSnapshot, queue: PendingQueue, options: PassOptions = {}): Plan {
    const maxAssignments = options.maxAssignments ?? PLAN_MAX_ASSIGNMENTS;
    assert(maxAssignments >= 1, 'maxAssignments must be positive');
    const startMs = this.clock.nowMs();
    this.pass++;
    this.stats = emptyStats();
    const nowMs = startMs;

    // Order first: priority high to low, round-robin across users (B15 §3.2). Victims evicted during the pass
    // join the queue after this snapshot of it, so they wait for the next pass instead of chasing their evictor.
    // Parked tasks (of classes that found no machine) belong to this queue and snapshot; another pair starts over.
    if (queue !== this.parkQueue || snap !== this.parkSnap) {
      this.forgetParked();
      this.parkQueue = queue;
      this.parkSnap = snap;
    }
    const entries = queue.orderedEntries(this.parkToken);
    this.ensurePermutation(snap);
    this.ensureSeen(snap);
    this.ramPerCpu = workloadShape(snap, queue);
    this.countStates(snap);

    const assignments: Assignment[] = [];
    // Verdicts one by one for the tasks decided in the pass, one block per class for the parked ones: on a loaded
    // cell ~40,000 tasks wait in a few thousand classes, and a pass hands out their blocks, not a verdict each.
    const verdicts: Verdict[] = [];
    const parked: ParkedVerdicts[] = [];
    this.passParked = parked;
    this.passAssignments = assignments;
    this.passVerdicts = verdicts;
    this.passMax = maxAssignments;
    this.examinedDownTo = Infinity;
    let bounded = false;
    let level = Infinity;
    for (let i = 0; i < entries.length; i++) {
      const c = this.classFor(entries[i] as QueueEntry);
      if (c.queuedPass !== this.pass) {
        c.queuedPass = this.pass;
        c.queuedLeft = 0;
      }
      c.queuedLeft++;
    }
    for (let i = 0; i < entries.length; i++) {
      if (assignments.length >= maxAssignments) {
        bounded = true;
        break;
      }
      const entry = entries[i] as QueueEntry;
      // Parked classes of the priorities above this task's get their look before it (parking, examineParked).
      if (entry.task.priority < level) {
        level = entry.task.priority;
        this.examineParked(snap, queue, level, nowMs);
      }
      this.decide(snap, queue, entry, nowMs);
    }
    if (!bounded && assignments.length < maxAssignments) this.examineParked(snap, queue, -1, nowMs);
    else bounded = true;
    this.emitParked(bounded);
    this.evictClasses(false);
    this.passAssignments = [];
    this.passVerdicts = [];
    this.passParked = [];
    this.stats.placed = assignments.length;
    this.stats.pending = verdicts.length + this.stats.parkedTasks;
    this.stats.decisions = assignments.length + this.stats.pending;
    this.stats.classes = this.classes.size;
    this.stats.passMs = this.clock.nowMs() - startMs;
    return { assignments, verdicts, parked, stats: this.stats };
  }

  /** giveVerdict appends to the pass's verdicts (those of tasks decided one by one; parked ones go in blocks). */
  private giveVerdict(v: Verdict): void {
    this.passVerdicts.push(v);
  }

  /** decide places one queued task or gives it its verdict; a task of an exhausted class is parked with it. */
  private decide(snap: CellSnapshot, queue: PendingQueue, entry: QueueEntry, nowMs: number): void {
    const task = entry.task;
    const c = this.classFor(entry);
    // The snapshot may have changed since the last search (a commit, or a change from outside between passes).
    this.victimsSlot = -1;
    if (c.queuedPass === this.pass && c.queuedLeft > 0) c.queuedLeft--;
    // Fast path for the long tail of a loaded cell: the class found no machine and nothing was freed since.
    if (verdictHolds(snap, c)) {
      this.park(c, entry);
      return;
    }
    const before = c.entries;
    const slot = this.placeTask(snap, c, task, nowMs);
    this.cacheEntries += c.entries - before;
    // Keep within the cache budget during the pass too (without relaxed randomization a class may hold a whole
    // cell of candidates); least recently used classes go first, and the current one is the most recent.
    if (this.cacheEntries > SCHED_CACHE_MAX_ENTRIES) this.evictClasses(true);
    if (slot >= 0) {
      if (snap.isPlaced(task.id)) {
        // The watch stream already shows it running, so it should not be queued: drop it, never place it twice.
        queue.remove(task.id);
        return;
      }
      const a = this.commit(snap, queue, task, c, slot);
      if (a === undefined) {
        this.giveVerdict(verdictOf(entry, `0/${snap.liveMachines} machines feasible: 1 chosen machine's reservations grew since it was checked (retried next pass)`));
        return;
      }
      this.passAssignments.push(a);
      this.noteHot(slot);
      this.staleRack(snap, c.siblings, slot);
      c.placedInCycle++;
      if (!this.equivalenceClasses) {
        this.dropClass(c);
        this.spare = c;
      }
    } else {
      const why = this.verdictFor(snap, c, task, nowMs);
      // An exhausted class's verdict holds for every task of it until room it could use appears: park the task (its
      // verdict goes out with the class's block).
      if (c.exhausted && c.nCand === 0 && c.verdict !== undefined) this.park(c, entry);
      else this.giveVerdict(verdictOf(entry, why));
    }
  }

  /**
   * park keeps entry with its exhausted class c: its verdict is the class's, given with the class's block at the
   * end of the pass (emitParked), and later passes leave it out of the ordering until examineParked wakes the class.
   */
  private park(c: TaskClass, entry: QueueEntry): void {
    (this.parkQueue as PendingQueue).park(entry, this.parkToken);
    entry.verdictPass = this.pass;
    entry.parkedWhy = c.verdict;
    // Appended past the class's blocks: the next emitParked gives it in a tail block (extendBlock).
    c.parked.push(entry);
    if (c.isParked) return;
    c.isParked = true;
    let bucket = this.parkedByPriority.get(c.priority);
    if (bucket === undefined) {
      bucket = [];
      this.parkedByPriority.set(c.priority, bucket);
      this.parkedPriorities.push(c.priority);
      this.parkedPriorities.sort((a, b) => b - a);
    }
    bucket.push(c);
  }

  /**
   * examineParked gives the parked classes of every priority above `below` not yet examined in this pass their
   * look, highest priority first: at the end of their own priority level, so that, as for a task decided in
   * order, only tasks of lower priority are decided after it and its verdict still holds when the pass ends
   * (they can only turn room it could preempt into free room). A class whose recheck finds room (a machine freed
   * since it exhausted, in the room index's superset: recheckFreed) or that lost its view wakes: its tasks are
   * decided now, one by one. The rest stay parked at the cost of one comparison when nothing was freed.
   */
  private examineParked(snap: CellSnapshot, queue: PendingQueue, below: number, nowMs: number): void {
    if (this.parkedPriorities.length === 0) return;
    const prios = this.parkedPriorities.slice();
    for (const p of prios) {
      if (p >= this.examinedDownTo) continue;
      if (p <= below) break;
      this.examinedDownTo = p;
      const list = this.parkedByPriority.get(p) as TaskClass[];
      const keep: TaskClass[] = [];
      this.parkedByPriority.set(p, keep);
      for (const c of list) {
        if (!c.isParked) continue;
        if (this.passAssignments.length >= this.passMax || !this.mustWake(snap, c)) {
          keep.push(c);
          continue;
        }
        this.stats.wokenClasses++;
        this.wake(snap, queue, c, nowMs);
        if (c.parked.length > 0) keep.push(c);
        else c.isParked = false;
      }
    }
  }

  /** mustWake: the parked class c may have room now (its recheck found machines) or lost the view its verdict came from. */
  private mustWake(snap: CellSnapshot, c: TaskClass): boolean {
    if (c.dropped || !c.exhausted || c.verdict === undefined || c.nCand > 0 || c.layoutEpoch !== snap.layoutEpoch) return true;
    if (c.exhaustedFreedSeq === snap.freedSeq) return false;
    c.refreshColumns(snap);
    return this.recheckFreed(snap, c);
  }

  /**
   * wake decides c's parked tasks one by one, from the oldest, until the class is exhausted again (nothing it
   * could use left); the rest stay parked and get the class's verdict with the others (emitParked). A class that
   * found one freed machine places a task or two and does not walk its whole tail.
   */
  private wake(snap: CellSnapshot, queue: PendingQueue, c: TaskClass, nowMs: number): void {
    const list = c.parked;
    const n = list.length;
    const again: QueueEntry[] = [];
    // Its queued tasks of this pass were decided before (a class is examined at the end of its priority level):
    // the parked ones are what it has left, which sizes the sample it may draw (bestOfSuperset).
    c.queuedPass = this.pass;
    c.queuedLeft = n;
    let i = 0;
    while (i < n) {
      if (verdictHolds(snap, c) && !c.dropped) break;
      // Past the plan bound the rest waits with the class for the next pass.
      if (this.passAssignments.length >= this.passMax) break;
      const e = list[i++] as QueueEntry;
      if (e.removed || e.parkedBy !== this.parkToken) continue;
      // Decided earlier in this pass (its verdict still holds: see examineParked): it waits for the next pass.
      if (e.verdictPass === this.pass) {
        again.push(e);
        continue;
      }
      queue.unpark(e);
      // A task that stays pending parks again (appended to the list, past n).
      this.decide(snap, queue, e, nowMs);
    }
    if (i === 0) return;
    list.splice(0, i);
    for (const e of again) list.push(e);
    this.trimBlocks(c, i);
  }

  /**
   * trimBlocks: the first k entries of c's parked list left it (wake decided them; those still pending were
   * appended again, past blockEntries, for the next tail block). The blocks drop the same k ids, by copying the
   * rest of them: on a loaded cell a woken class holds thousands of parked tasks, and rebuilding its blocks from
   * the entries would fetch every entry again (an entry removed from the queue since has made them dirty anyway).
   */
  private trimBlocks(c: TaskClass, k: number): void {
    const block = c.block;
    if (c.parkedDirty || block === undefined || k > c.blockEntries) {
      c.parkedDirty = true;
      return;
    }
    const base = block.taskIds;
    const tail = c.tail === undefined ? [] : c.tail.taskIds;
    const ids = k < base.length ? base.slice(k).concat(tail) : tail.slice(k - base.length);
    c.block = ids.length > 0 ? { why: block.why, taskIds: ids } : undefined;
    c.tail = undefined;
    c.blockEntries -= k;
  }

  /**
   * emitParked gives every parked task its class's verdict in the class's blocks (ParkedVerdicts): a base block,
   * the same object as in the last pass while neither its tasks nor its text changed, and a tail block for tasks
   * parked since it was made, so a task joining a class of thousands does not copy all their ids. A removal
   * rebuilds the base from the entries and forgets those that left the queue; a new text relabels the same ids; a
   * wake trims them (trimBlocks). In a pass cut short by the plan bound, classes not examined give none, like the
   * tasks the pass did not reach.
   */
  private emitParked(bounded: boolean): void {
    for (const p of this.parkedPriorities) {
      const bucket = this.parkedByPriority.get(p) as TaskClass[];
      const examined = p >= this.examinedDownTo;
      let kept = 0;
      for (const c of bucket) {
        if (!c.isParked) continue;
        if (bounded && !examined) {
          bucket[kept++] = c;
          continue;
        }
        const why = c.verdict;
        if (c.parkedDirty || c.block === undefined || why === undefined) this.rebuildBlock(c, why);
        else {
          // A new text for the same tasks: the same ids under it.
          if (c.block.why !== why) this.relabelBlocks(c, why);
          if (c.parked.length > c.blockEntries) this.extendBlock(c);
        }
        if (c.parked.length === 0) {
          c.isParked = false;
          continue;
        }
        this.giveBlock(c.block);
        this.giveBlock(c.tail);
        bucket[kept++] = c;
      }
      bucket.length = kept;
    }
  }

  private giveBlock(b: ParkedVerdicts | undefined): void {
    if (b === undefined) return;
    this.passParked.push(b);
    this.stats.parkedTasks += b.taskIds.length;
  }

  /**
   * rebuildBlock drops the entries of c that left the queue or were unparked and makes c's block for text `why`.
   * Without a verdict (the class was woken this pass and has candidates again) the tasks it still holds, decided
   * earlier in this pass, get the verdict they were parked with, one by one.
   */
  private rebuildBlock(c: TaskClass, why: string | undefined): void {
    const list = c.parked;
    const ids: number[] = [];
    let w = 0;
    for (let i = 0; i < list.length; i++) {
      const e = list[i] as QueueEntry;
      if (e.removed || e.parkedBy !== this.parkToken) continue;
      list[w++] = e;
      if (why !== undefined) ids.push(e.id);
      else if (e.parkedWhy !== undefined) this.giveVerdict(verdictOf(e, e.parkedWhy));
    }
    list.length = w;
    c.block = why !== undefined && w > 0 ? { why, taskIds: ids } : undefined;
    c.tail = undefined;
    c.blockEntries = w;
    c.parkedDirty = why === undefined;
  }

  /** relabelBlocks gives c's blocks the text `why` (its verdict changed, its parked tasks did not). */
  private relabelBlocks(c: TaskClass, why: string): void {
    c.block = { why, taskIds: (c.block as ParkedVerdicts).taskIds };
    if (c.tail !== undefined) c.tail = { why, taskIds: c.tail.taskIds };
  }

  /**
   * extendBlock gives the entries parked since c's blocks were made (appended past blockEntries, all still queued:
   * a removal would have made the class dirty) in a new tail block; a tail grown to half the base is merged into it.
   */
  private extendBlock(c: TaskClass): void {
    const base = c.block as ParkedVerdicts;
    const list = c.parked;
    const ids = c.tail === undefined ? [] : c.tail.taskIds.slice();
    for (let i = c.blockEntries; i < list.length; i++) ids.push((list[i] as QueueEntry).id);
    c.blockEntries = list.length;
    if (2 * ids.length > base.taskIds.length) {
      c.block = { why: base.why, taskIds: base.taskIds.concat(ids) };
      c.tail = undefined;
    } else c.tail = { why: base.why, taskIds: ids };
  }

  /** unpark returns c's parked tasks to the ordering (the class is being dropped from the cache). */
  private unpark(c: TaskClass): void {
    const queue = this.parkQueue as PendingQueue;
    for (const e of c.parked) if (e.parkedBy === this.parkToken) queue.unpark(e);
    c.parked = [];
    c.isParked = false;
    c.parkedDirty = true;
    c.block = undefined;
    c.tail = undefined;
  }

  /** forgetParked drops all parking state (the caller switched to another queue or snapshot). */
  private forgetParked(): void {
    for (const bucket of this.parkedByPriority.values()) for (const c of bucket) this.unpark(c);
    this.parkedByPriority.clear();
    this.parkedPriorities = [];
  }

  /**
   * placeTask is the pipeline for one task. Returns the chosen slot, or -1 (pending). Steps, in order:
   *  1. A class whose walk predates a change of the machine set starts over (slots moved).
   *  2. A class that already found no machine answers at once unless machines were freed since; then it
   *     rechecks only those (freed log), and walks the whole cell only when the log overflowed or is stale.
   *  3. Known candidates are rechecked: with score caching, an unchanged generation reuses the score and only
   *     the exact resource fit is redone (small reservation drifts do not bump generations, fit must be exact).
   *  4. Short of `limit` candidates (relaxed randomization), the class looks again: with the room index, only at
   *     the machines whose room could fit it, all of them when they are few (a complete view), else a sample of
   *     them ranked by fit (or drawn at random); without it, the walk tops the candidates up, visiting machines
   *     in the seeded permutation from the class's own random start.
   *  5. The best-scoring candidate that this task does not avoid wins; ties go to the lowest machine slot, as in
   *     the exhaustive scan over slots (on an empty cell that piles a packing policy onto the same machines).
   */
  private placeTask(snap: CellSnapshot, c: TaskClass, task: SchedTask, nowMs: number, rechecked = false): number {
    c.refreshColumns(snap);
    if (c.layoutEpoch !== snap.layoutEpoch) this.startCycle(snap, c);
    if (c.exhausted) {
      if (!this.recheckFreed(snap, c)) return -1;
    }
    // A class that placed SAMPLE_REFRESH_PLACEMENTS tasks from one sample draws a fresh one: a long-lived sample
    // keeps filling the same machines with one job's shape, which strands resources (measured: scheduler/README.md).
    if (this.relaxedRandomization && c.placedInCycle >= this.sampleRefresh) this.startCycle(snap, c);
    this.refreshCandidates(snap, c);
    if (this.freeRoomMissed(snap, c)) {
      c.freeLookPass = this.pass;
      this.startCycle(snap, c);
    }
    // A sample of the room index's superset that ran dry starts a fresh cycle (it was never a complete view).
    if (c.nCand === 0 && c.partialView) this.startCycle(snap, c);
    // Short of candidates where the room index can narrow the search: look only at machines that could fit
    // (indexedView). Otherwise, out of candidates with much of the cell left to walk, a dominating class's
    // complete view is far cheaper than the walk (inheritWalk restarts the cycle from it when one applies); then
    // the sampled walk tops up.
    if (c.nCand >= this.limit || c.visited >= snap.slotCount || !this.indexedView(snap, c)) {
      if (c.nCand === 0 && snap.slotCount - c.visited > INHERIT_MIN_REMAINING) this.inheritWalk(snap, c);
      this.walk(snap, c);
    }
    if (c.nCand > 0) {
      // refreshCandidates and walk tracked the best candidate as they went. Avoided pairings need a second look, and
      // so does a best that needs evictions: its score is a bound until its victims are searched (exactBest).
      const tracked = !snap.hasAvoidances(task.id) && this.bestSlot >= 0 && this.bestValid === c;
      const best = tracked && this.bestFit !== FIT_PREEMPT_BOUND ? this.bestSlot : this.exactBest(snap, c, task, nowMs, tracked);
      // None: the task avoids every candidate, or (rarely) the victims searched could not make room after all.
      if (best < 0) return c.nCand > 0 ? this.scanForAvoidingTask(snap, c, task, nowMs) : -1;
      if (tracked && this.hotMachines > 0 && this.relaxedRandomization && !lastOfPass(this.pass, c)) this.considerHot(snap, c);
      return this.bestSlot;
    }
    // No candidate left in a complete view: the class is exhausted until a machine is freed. Its candidates may have
    // run out long after the view was taken (syncSeq), and machines freed in between were never looked at (a task
    // resubmitted by a rolling update finds its class's view from the last pass): recheck those before giving up.
    c.shrink(8);
    c.exhausted = true;
    c.exhaustedFreedSeq = Math.min(c.syncSeq, snap.freedSeq);
    if (c.exhaustedFreedSeq !== snap.freedSeq && !rechecked) return this.placeTask(snap, c, task, nowMs, true);
    c.exhaustedFreedSeq = snap.freedSeq;
    return -1;
  }

  /**
   * freeRoomMissed: c's cached sample (drawn when no machine had free room for it) offers only evictions at best,
   * while the free-room grid now has a machine a whole bucket above its request. Once a pass such a class draws a
   * fresh sample, which looks at free room first (bestOfSuperset).
   */
  private freeRoomMissed(snap: CellSnapshot, c: TaskClass): boolean {
    if (!c.partialView || this.bestSlot < 0 || c.roomKind === ROOM_FREE || c.freeLookPass === this.pass) return false;
    return !fitsFree(snap, c, this.bestSlot) && snap.rooms.hasRoomAbove(ROOM_FREE, c.needCpu, c.needRam);
  }

  /** recheckFreed: step 2 above. Returns true when the class has candidates again (or must walk again). */
  private recheckFreed(snap: CellSnapshot, c: TaskClass): boolean {
    const since = c.exhaustedFreedSeq;
    if (since === snap.freedSeq) return false;
    // The log names the machines that gained room. A rack or power-domain spread limit is also loosened by a
    // removal on a neighbour, which the log does not name, so such classes (rare) walk the whole cell again.
    if (c.hasDomainSpread) {
      this.startCycle(snap, c);
      return true;
    }
    assert(c.nCand === 0, 'an exhausted class holds no candidates');
    const lag = snap.freedSeq - since;
    // After a burst of evictions (the first online passes on a full cell: a thousand machines logged per pass),
    // fewer machines could fit the class at all than the log names: look only at the room index's superset, and
    // evaluate only those of its machines logged since (snap.lastFreedSeq). A machine that fits now and did not
    // when the class was exhausted gained room since, so it was logged: the same machines the log would give,
    // found in min(superset, log) steps instead of re-evaluating the whole superset. The per-slot stamp never
    // overflows, so a lag beyond the ring is answered the same way.
    if (this.supersetRecheck && lag > RECHECK_DONOR_MIN_LAG) {
      const size = snap.rooms.supersetSize(c.roomKind, c.needCpu, c.needRam);
      if (size < lag || lag > SCHED_FREED_LOG_ENTRIES) {
        this.recheckSuperset(snap, c, since, size);
        return this.endRecheck(snap, c);
      }
    }
    if (lag > SCHED_FREED_LOG_ENTRIES) {
      this.startCycle(snap, c);
      return true;
    }
    // A dominating class with a fresher view narrows the recheck to its candidates and what was freed after it.
    // Only worth a look when many machines were freed since (the common case is one or two between two tasks).
    // An exhausted class holds no candidates, and `seen` below visits each machine once, so every machine this
    // recheck adds is new to the list (no duplicate scan needed).
    const view = lag > RECHECK_DONOR_MIN_LAG ? this.findDonor(snap, c, this.recentViews, since, lag) : undefined;
    const from = view === undefined ? since : view.syncSeq;
    const stamp = this.nextStamp(snap);
    if (view !== undefined) {
      for (let i = 0; i < view.nCand; i++) {
        const m = view.cand[i] as number;
        this.seen[m] = stamp;
        this.recheckOne(snap, c, m);
      }
    }
    for (let s = from; s < snap.freedSeq; s++) {
      const m = snap.freedLog[s % SCHED_FREED_LOG_ENTRIES] as number;
      // A machine freed several times since is checked once.
      if (this.seen[m] === stamp) continue;
      this.seen[m] = stamp;
      this.recheckOne(snap, c, m);
    }
    return this.endRecheck(snap, c);
  }

  /** endRecheck: the exhausted class c has looked at everything freed up to now. True when it found machines. */
  private endRecheck(snap: CellSnapshot, c: TaskClass): boolean {
    c.exhaustedFreedSeq = snap.freedSeq;
    c.syncSeq = snap.freedSeq;
    this.offerView(c);
    if (c.nCand === 0) return false;
    c.exhausted = false;
    c.verdict = undefined;
    // As after a complete indexed view: many machines may fit again.
    this.keepSample(c);
    return true;
  }

  /**
   * keepSample: with samples by fit, a class that found more than `limit` feasible machines keeps the best `limit`
   * as a sample (partial view) rather than rechecking all of them for every task. True when it did.
   */
  private keepSample(c: TaskClass): boolean {
    if (!this.bestSamples || c.nCand <= this.limit) return false;
    c.keepBest(this.limit, this.topK);
    c.partialView = true;
    return true;
  }

  /**
   * recheckSuperset: the exhausted class c rechecks the machines of the room index's superset (`size` of them)
   * that were logged as freed at or after `since`; the rest cannot fit it (see recheckFreed).
   */
  private recheckSuperset(snap: CellSnapshot, c: TaskClass, since: number, size: number): void {
    this.stats.supersetRechecks++;
    const scratch = this.scratchOf(size);
    const n = snap.rooms.collectFreedSince(c.roomKind, c.needCpu, c.needRam, since, snap.lastFreedSeq, scratch);
    // Many machines freed since (a burst of evictions): rank them by fit as a sample is ranked and evaluate the
    // best-ranked, which then serve as a sample (a partial view: when it runs dry the class draws a fresh one). Only
    // when none of those fits are they all evaluated one by one, so that "nothing fits" stays exact.
    // A parked class is rechecked before wake counts its parked tasks as what it has left (examineParked).
    const left = Math.max(this.tasksLeft(c), c.parked.length);
    if (this.bestSamples && n > RECHECK_RANK_MIN && this.rankAndEvaluate(snap, c, scratch, n, left, false)) {
      c.partialView = true;
      // As recheckOne does for each machine it adds.
      for (let i = 0; i < c.nCand; i++) takeFromLargest(c.reasonCounts);
      return;
    }
    for (let i = 0; i < n; i++) this.recheckOne(snap, c, scratch[i] as number);
  }

  /** recheckOne adds slot m as a candidate of exhausted class c if it fits now. */
  private recheckOne(snap: CellSnapshot, c: TaskClass, m: number): void {
    // Most machines an exhausted class rechecks gained too little room: the room bound (an upper bound on what it
    // could get there) rules them out in a few operations, and a recheck counts no reasons for what it rejects.
    if (!roomBoundFits(snap, c, m) || this.evaluate(snap, c, m) !== 0) return;
    c.pushCandidate(m, this.evalScore, snap.generation[m] as number, snap.driftVersion[m] as number, this.evalFit);
    // The machine was counted under some reason when the walk rejected it; which one is not kept (that would cost
    // a byte per class and machine), so take it from the largest count. The histogram keeps adding up to the
    // cell, and its shares may lag by the few machines rechecked this way.
    takeFromLargest(c.reasonCounts);
  }

  /**
   * findDonor looks in `pool` for a class whose complete view covers c's: same prod-ness, at least c's priority
   * (so it may preempt at least what c may), a request no larger in any dimension, no constraints or spread
   * limits of its own, a view no older than `notBefore`. Every machine feasible for c is then one of the donor's
   * candidates or was freed after its view. Returns the cheapest such donor if it costs less than `budget`.
   */
  private findDonor(snap: CellSnapshot, c: TaskClass, pool: readonly TaskClass[], notBefore: number, budget: number): TaskClass | undefined {
    if (!this.equivalenceClasses) return undefined;
    let best: TaskClass | undefined;
    let bestCost = budget;
    for (let i = pool.length - 1; i >= 0; i--) {
      const d = pool[i] as TaskClass;
      if (d === c || d.dropped || d.partialView || d.layoutEpoch !== snap.layoutEpoch || d.visited < snap.slotCount || d.prod !== c.prod) continue;
      if (!c.prod && d.priority < c.priority) continue;
      if (d.needCpu > c.needCpu || d.needRam > c.needRam || d.needDisk > c.needDisk || d.needPorts > c.needPorts) continue;
      if (d.syncSeq < notBefore) continue;
      const lag = snap.freedSeq - d.syncSeq;
      if (lag > SCHED_FREED_LOG_ENTRIES) continue;
      const cost = d.nCand + lag;
      if (cost < bestCost) {
        best = d;
        bestCost = cost;
        if (cost === 0) break;
      }
    }
    return best;
  }

  /** offerView records a fresh complete view (a walk just ended, or a recheck) in the recent-views ring. */
  private offerView(c: TaskClass): void {
    if (!this.equivalenceClasses || c.conKeys.length > 0 || c.hasSpread) return;
    this.recentViews[this.recentNext] = c;
    this.recentNext = (this.recentNext + 1) % RECENT_VIEWS;
  }

  /** refreshCandidates: step 3. Drops candidates that no longer fit, counting their reason for why-pending. */
  private refreshCandidates(snap: CellSnapshot, c: TaskClass): void {
    const caching = this.scoreCaching;
    const gen = snap.generation;
    const drift = snap.driftVersion;
    const racks = snap.rack;
    // The racks c noted as stale since its last refresh, stamped in rackMark (or all of them).
    const allStale = c.allRacksStale;
    const stale = allStale || c.staleRacks.length > 0;
    const mark = stale && !allStale ? this.markRacks(snap, c) : 0;
    this.beginBest(c);
    let i = 0;
    while (i < c.nCand) {
      const m = c.cand[i] as number;
      if (
        caching &&
        c.candGen[i] === gen[m] &&
        (!stale || (!allStale && this.rackMark[racks[m] as number] !== mark)) &&
        (c.candDrift[i] === drift[m] || this.stillFits(snap, c, m, c.candFit[i] !== FIT_FREE)) &&
        (!c.hasDomainSpread || spreadFilter(snap, c, m) === 0)
      ) {
        this.stats.cacheHits++;
        this.noteBest(c, m, c.candScore[i] as number, c.candFit[i] as number);
        i++;
        continue;
      }
      // Most candidates whose machine changed have filled up: the room bound drops those without an evaluation.
      const r = ((snap.state[m] as number) === MACHINE_UP && boundShort(snap, c, m)) || this.evaluate(snap, c, m);
      if (r !== 0) {
        if (r > 0) c.reasonCounts[r] = (c.reasonCounts[r] as number) + 1;
        c.dropCandidate(i);
        continue;
      }
      c.candScore[i] = this.evalScore;
      c.candGen[i] = gen[m] as number;
      c.candDrift[i] = drift[m] as number;
      c.candFit[i] = this.evalFit;
      this.noteBest(c, m, this.evalScore, this.evalFit);
      i++;
    }
    // Every candidate in a stale rack was evaluated again above.
    if (stale) c.clearStaleRacks();
  }

  /** markRacks stamps c's stale racks in rackMark and returns the stamp. */
  private markRacks(snap: CellSnapshot, c: TaskClass): number {
    if (this.rackMark.length < snap.racks.size) this.rackMark = new Uint32Array(Math.max(64, 2 * snap.racks.size));
    const stamp = ++this.rackStamp;
    for (const r of c.staleRacks) this.rackMark[r] = stamp;
    return stamp;
  }

  /** beginBest: from here the best candidate of class c is tracked (its list starts over or is re-scored). */
  private beginBest(c: TaskClass): void {
    this.bestSlot = -1;
    this.bestScore = -Infinity;
    this.bestValid = c;
  }

  /** noteBest: slot m scoring `score` becomes the tracked best of c if it beats it; ties go to the lower slot, as in pickBest. */
  private noteBest(c: TaskClass, m: number, score: number, fit: number): void {
    if (this.bestValid === c && (score > this.bestScore || (score === this.bestScore && m < this.bestSlot))) {
      this.bestSlot = m;
      this.bestScore = score;
      this.bestFit = fit;
    }
  }

  /** consider evaluates slot m for class c: a feasible machine becomes a candidate (and perhaps the best). Returns evaluate's code. */
  private consider(snap: CellSnapshot, c: TaskClass, m: number): number {
    const r = this.evaluate(snap, c, m);
    if (r !== 0) return r;
    c.pushCandidate(m, this.evalScore, snap.generation[m] as number, snap.driftVersion[m] as number, this.evalFit);
    this.noteBest(c, m, this.evalScore, this.evalFit);
    return 0;
  }

  /**
   * stillFits is the exact resource recheck behind a cache hit when reservations drifted. An unchanged
   * generation means the machine's tasks, state and attributes are as they were; only reservations may have moved
   * (below the quantum, counted by driftVersion), so fit is rechecked exactly: plainly for a candidate that fitted
   * plainly, with the preemption vector for one that needed evictions (victims are chosen again at commit).
   */
  private stillFits(snap: CellSnapshot, c: TaskClass, m: number, preempt: boolean): boolean {
    if (!preempt) return fitsFree(snap, c, m);
    availableWithPreemption(snap, c, m, this.avail);
    return resourcesFilter(c, this.avail) === 0 && portsFilter(c, this.avail) === 0;
  }

  /** walk: step 4. */
  private walk(snap: CellSnapshot, c: TaskClass): void {
    const n = snap.slotCount;
    const perm = this.perm;
    if (c.visited >= n) return;
    // A class that still has candidates tops up within a budget: on a loaded cell feasible machines are rare and
    // an unbounded top-up walks the whole cell for every task. Without candidates it walks until it finds one.
    const budget = c.nCand > 0 ? TOP_UP_BUDGET_FACTOR * this.limit : n;
    // A walk may span tasks and passes: a machine it passed over and that was freed later is logged after the
    // freedSeq the walk began at, which is therefore the view's syncSeq.
    if (c.visited === 0) c.walkFromSeq = snap.freedSeq;
    for (let steps = 0; c.nCand < this.limit && c.visited < n && steps < budget; steps++) {
      let k = c.cycleStart + c.visited;
      if (k >= n) k -= n;
      c.visited++;
      const r = this.consider(snap, c, perm[k] as number);
      if (r > 0) c.reasonCounts[r] = (c.reasonCounts[r] as number) + 1;
    }
    if (c.visited >= n) this.walkCompleted(snap, c, c.walkFromSeq);
  }

  /**
   * indexedView is step 4 on a loaded cell: when the room index says at most viewMax machines could have room for
   * the class, it evaluates exactly those and counts every other machine under the reason the grid proves (cpu
   * short, else ram short; preemptionShortfall names the same reason for them), plus the DOWN and DRAINING ones:
   * a complete view of the cell, with every feasible machine a candidate, for a few hundred evaluations instead of
   * a walk over every machine. Returns false (nothing done) when too many machines could fit: an emptier cell,
   * where the sampled walk finds `limit` machines sooner.
   */
  private indexedView(snap: CellSnapshot, c: TaskClass): boolean {
    if (!this.useIndex) return false;
    const rooms = snap.rooms;
    // A class that still has candidates takes only a complete view: most of the time the superset is far larger, and
    // counting it up to the bound costs a few cells instead of preparing all of them.
    if (c.nCand > 0 && rooms.supersetSize(c.roomKind, c.needCpu, c.needRam, this.viewMax) > this.viewMax) return false;
    const size = rooms.prepare(c.roomKind, c.needCpu, c.needRam);
    const complete = size <= this.viewMax;
    // Without candidates and with the superset well below the cell, a random sample of the superset finds `limit`
    // machines in n / superset times fewer steps than the walk over every machine.
    if (!complete && (c.nCand > 0 || (!this.bestSamples && size * INDEX_SAMPLE_FRACTION > snap.slotCount))) return false;
    c.startCycle(c.cycleStart, snap.layoutEpoch);
    c.visited = snap.slotCount;
    // A sample by fit that finds nothing feasible leaves the class as startCycle did (no candidate, no count).
    if (!complete && this.bestSamples && this.bestOfSuperset(snap, c, size)) return true;
    const scratch = this.collectSuperset(snap, c, size);
    const short = this.viewShort;
    if (!complete && !this.bestSamples && this.sampleSuperset(snap, c, scratch, size)) return true;
    const counts = c.reasonCounts;
    counts[CODE_INSUFFICIENT_CPU] = (counts[CODE_INSUFFICIENT_CPU] as number) + short.cpuShort;
    counts[CODE_INSUFFICIENT_RAM] = (counts[CODE_INSUFFICIENT_RAM] as number) + short.ramShort;
    counts[CODE_MACHINE_DOWN] = (counts[CODE_MACHINE_DOWN] as number) + this.downMachines;
    counts[CODE_MACHINE_DRAINING] = (counts[CODE_MACHINE_DRAINING] as number) + this.drainingMachines;
    this.beginBest(c);
    for (let i = 0; i < size; i++) {
      const m = scratch[i] as number;
      // The superset's edge cells hold machines on both sides of the request: those short of the room bound are
      // counted as evaluate would count them, without evaluating them (most of a view that finds nothing).
      const r = boundShort(snap, c, m) || this.consider(snap, c, m);
      if (r > 0) counts[r] = (counts[r] as number) + 1;
    }
    this.stats.indexedViews++;
    // Many machines fit: a sample of the best (the complete view has served to give an exact verdict had none fitted).
    if (this.keepSample(c)) return true;
    this.walkCompleted(snap, c);
    return true;
  }

  /**
   * sampleSuperset visits the superset in a seeded random order (a Fisher-Yates shuffle drawn as it goes) until
   * `limit` machines are feasible. Returns true when it stopped there: a partial view, which the class uses
   * until it runs dry. When the whole superset was visited first it returns false with the scratch order
   * shuffled and the class's candidates and counts reset, and the caller builds the complete view instead.
   */
  private sampleSuperset(snap: CellSnapshot, c: TaskClass, scratch: Int32Array, n: number): boolean {
    this.beginBest(c);
    for (let i = 0; i < n; i++) {
      const j = i + this.rng.int(n - i);
      const m = scratch[j] as number;
      scratch[j] = scratch[i] as number;
      scratch[i] = m;
      if (this.consider(snap, c, m) === 0 && c.nCand >= this.limit) return this.sampled(c);
    }
    c.nCand = 0;
    return false;
  }

  /**
   * bestOfSuperset takes as the class's sample the `limit` machines of the superset with the best fit term (the
   * policy's score from the machine's own numbers, a few arithmetic operations) among those whose room bound fits,
   * then evaluates just those in full: what an exhaustive search would choose from, for the price of a pass of
   * arithmetic over the superset. Returns true with a partial view when any of them is feasible; false (the
   * caller then builds the complete view) when none is.
   */
  private bestOfSuperset(snap: CellSnapshot, c: TaskClass, n: number): boolean {
    // A class with few tasks left to decide in this pass needs few candidates: it ranks BEST_SCAN_PER_TASK machines
    // per task (at most BEST_SCAN_MAX) and evaluates in full only its best-ranked SAMPLE_PER_TASK per task (at
    // least SAMPLE_MIN), the rest only if none of those is feasible. On an online pass most classes that draw a
    // sample hold one or two tasks (victims going back to pending).
    const left = this.tasksLeft(c);
    // Evictions are the fallback (B15 §3.2): a class that may preempt first samples the machines where it fits as
    // things are (the free-room grid), and samples its whole superset only when none of those is feasible. On a
    // full cell those are a small part of its superset, and a sample of the superset missed them: 29% of the
    // online passes' preemptions on the 2011 trace had machines with free room for the task (scheduler/README.md).
    if (c.roomKind !== ROOM_FREE) {
      const free = snap.rooms.prepare(ROOM_FREE, c.needCpu, c.needRam);
      if (free > 0 && this.rankSample(snap, c, free, left, true)) return this.sampled(c);
      snap.rooms.prepare(c.roomKind, c.needCpu, c.needRam);
    }
    return this.rankSample(snap, c, n, left, false) && this.sampled(c);
  }

  /**
   * rankSample ranks the prepared superset (size n) by fit and evaluates the best-ranked machines of it (see
   * bestOfSuperset). A superset larger than the scan is ranked on a systematic sample of it (evenly spaced from a
   * seeded start, so every grid cell is represented in proportion). With `freeOnly`, machines where c does not
   * fit without evictions are left out. Returns true when some machine was feasible (c holds them as candidates).
   */
  private rankSample(snap: CellSnapshot, c: TaskClass, n: number, left: number, freeOnly: boolean): boolean {
    // Ranking among machines that need evictions (the free-room stage found nothing) scans fewer (PREEMPT_SCAN_MAX).
    const scanMax = freeOnly || c.roomKind === ROOM_FREE ? this.bestScanMax : Math.min(this.bestScanMax, PREEMPT_SCAN_MAX);
    const scan = Math.min(n, scanMax, BEST_SCAN_PER_TASK * left);
    const picks = this.scratchOf(scan);
    snap.rooms.sampleEvenly(n, scan, scan < n ? this.rng.next() : 0, picks);
    return this.rankAndEvaluate(snap, c, picks, scan, left, freeOnly);
  }

  /**
   * rankAndEvaluate ranks `count` machines by fit (those whose room bound fits; with `freeOnly`, only those where c
   * fits without evictions), keeps the best `limit`, and evaluates in full the best-ranked SAMPLE_PER_TASK per task
   * c has left (at least SAMPLE_MIN), the rest of the best `limit` only when none of those is feasible. Returns true
   * when some machine was feasible (c holds them as candidates, the best tracked).
   */
  private rankAndEvaluate(snap: CellSnapshot, c: TaskClass, machines: Int32Array, count: number, left: number, freeOnly: boolean): boolean {
    const top = this.topK;
    top.reset(this.limit);
    this.stats.rankedMachines += count;
    const filtered = c.hasSpread || c.conKeys.length > 0;
    for (let i = 0; i < count; i++) {
      const m = machines[i] as number;
      if (!roomBoundFits(snap, c, m)) continue;
      // Rank as the full score will: a machine that needs evictions starts PREEMPTION_BASE_COST behind, so the
      // sample holds the machines that fit as they are whenever there are enough of them.
      const fits = fitsFree(snap, c, m);
      if (freeOnly && !fits) continue;
      const score = fitScore(snap, c, m, this.policy, this.ramPerCpu) - (fits ? 0 : PREEMPTION_BASE_COST);
      // A machine the constraints or spread limits rule out never makes the sample: once a job with a per-machine
      // limit has filled the best-fitting machines, a sample of those would hold nothing feasible, and the class
      // would fall back to evaluating its whole superset.
      if (filtered && (!top.accepts(score, m) || (c.conKeys.length > 0 && constraintsFilter(c, m) !== 0) || (c.hasSpread && spreadFilter(snap, c, m) !== 0))) continue;
      top.offer(m, score, m);
    }
    this.beginBest(c);
    const n2 = top.size;
    const want = Math.min(n2, Math.max(SAMPLE_MIN, SAMPLE_PER_TASK * left));
    if (want < n2) {
      // Rank order (best first), so the machines evaluated are the best-ranked `want`.
      const order = this.rankOrder.length >= n2 ? this.rankOrder : (this.rankOrder = new Int32Array(Math.max(n2, 64)));
      const bounds = this.rankScore.length >= n2 ? this.rankScore : (this.rankScore = new Float64Array(Math.max(n2, 64)));
      for (let i = 0; i < n2; i++) {
        const m = top.id(i);
        const b = top.score(i);
        let j = i;
        while (j > 0 && ((bounds[j - 1] as number) < b || ((bounds[j - 1] as number) === b && (order[j - 1] as number) > m))) {
          bounds[j] = bounds[j - 1] as number;
          order[j] = order[j - 1] as number;
          j--;
        }
        bounds[j] = b;
        order[j] = m;
      }
      let i = 0;
      for (; i < want; i++) this.consider(snap, c, order[i] as number);
      for (; i < n2 && c.nCand === 0; i++) this.consider(snap, c, order[i] as number);
    } else for (let i = 0; i < n2; i++) this.consider(snap, c, top.id(i));
    return c.nCand > 0;
  }

  /** tasksLeft: the tasks class c has left to decide in this pass, the one being decided included (at least 1). */
  private tasksLeft(c: TaskClass): number {
    return c.queuedPass === this.pass ? c.queuedLeft + 1 : 1;
  }

  /** scratchOf returns viewScratch, grown to hold at least `size` machine slots. */
  private scratchOf(size: number): Int32Array {
    if (this.viewScratch.length < size) this.viewScratch = new Int32Array(Math.max(size, 2 * this.viewScratch.length, 64));
    return this.viewScratch;
  }

  /** collectSuperset lists the `size` machines of the room index's superset for c in viewScratch (counts of the rest in viewShort). */
  private collectSuperset(snap: CellSnapshot, c: TaskClass, size: number): Int32Array {
    const got = snap.rooms.collect(c.roomKind, c.needCpu, c.needRam, this.scratchOf(size), this.viewShort);
    assert(got === size, 'room index: collect disagrees with supersetSize');
    return this.viewScratch;
  }

  /** sampled ends a view that stopped at a sample: c holds a partial view whose best candidate is tracked. */
  private sampled(c: TaskClass): true {
    c.partialView = true;
    this.stats.sampledViews++;
    return true;
  }

  /** countStates counts the DOWN and DRAINING machines once per pass (the scheduler does not change states). */
  private countStates(snap: CellSnapshot): void {
    let down = 0;
    let draining = 0;
    const st = snap.state;
    for (let m = 0; m < snap.slotCount; m++) {
      const s = st[m] as number;
      if (s === MACHINE_DOWN) down++;
      else if (s === MACHINE_DRAINING) draining++;
    }
    this.downMachines = down;
    this.drainingMachines = draining;
    // Samples by fit cost a pass of arithmetic over at most BEST_SCAN_MAX machines and `limit` evaluations, so a
    // complete view (every machine of the superset evaluated) pays only when it is no larger than that.
    this.viewMax = this.bestSamples ? this.limit : indexedViewMax(this.limit, snap.slotCount);
  }

  /** walkCompleted records a complete view of the cell and offers the class as a donor. */
  private walkCompleted(snap: CellSnapshot, c: TaskClass, fromSeq = snap.freedSeq): void {
    c.syncSeq = fromSeq;
    this.offerView(c);
    if (!this.equivalenceClasses || c.donor || c.conKeys.length > 0 || c.hasSpread) return;
    c.donor = true;
    this.donors.push(c);
    if (this.donors.length > DONOR_POOL) {
      const old = this.donors.shift() as TaskClass;
      old.donor = false;
    }
  }

  /**
   * inheritWalk starts a new class from a donor's complete view instead of walking all machines: a donor with the
   * same prod-ness, at least our priority (it may preempt at least what we may) and a request no larger in any
   * dimension is feasible wherever we are, so every machine feasible for us is among its candidates or was freed
   * since its view (freed log). We check those, and take the donor's histogram for the machines it rejected
   * (those reject us too; the reason named is the donor's). Returns false when no donor applies.
   */
  private inheritWalk(snap: CellSnapshot, c: TaskClass): boolean {
    const best = this.findDonor(snap, c, this.recentViews, 0, snap.slotCount - c.visited) ?? this.findDonor(snap, c, this.donors, 0, snap.slotCount - c.visited);
    if (best === undefined) return false;
    const d = best;
    c.startCycle(c.cycleStart, snap.layoutEpoch);
    c.visited = snap.slotCount;
    c.reasonCounts.set(d.reasonCounts.subarray(0, REASON_SLOTS));
    const stamp = this.nextStamp(snap);
    for (let i = 0; i < d.nCand; i++) {
      const m = d.cand[i] as number;
      this.seen[m] = stamp;
      const r = this.evaluate(snap, c, m);
      if (r === 0) c.pushCandidate(m, this.evalScore, snap.generation[m] as number, snap.driftVersion[m] as number, this.evalFit);
      else if (r > 0) c.reasonCounts[r] = (c.reasonCounts[r] as number) + 1;
    }
    for (let s = d.syncSeq; s < snap.freedSeq; s++) {
      const m = snap.freedLog[s % SCHED_FREED_LOG_ENTRIES] as number;
      if (this.seen[m] === stamp) continue;
      this.seen[m] = stamp;
      if (this.evaluate(snap, c, m) !== 0) continue;
      c.pushCandidate(m, this.evalScore, snap.generation[m] as number, snap.driftVersion[m] as number, this.evalFit);
      takeFromLargest(c.reasonCounts);
    }
    this.stats.inherited++;
    this.walkCompleted(snap, c);
    return true;
  }

  /**
   * considerHot also scores the machines the last placements went to (any class): a packing policy would pile
   * onto those, and a random sample rarely contains them.
   */
  private considerHot(snap: CellSnapshot, c: TaskClass): void {
    for (let i = 0; i < this.hotCount; i++) {
      const m = this.hot[i] as number;
      // Only machines it fits without evictions: the hot set is for packing, and a victim search per hot machine
      // would cost more than it could win. A job limited to k tasks per machine has usually just filled the hot
      // machines itself (a 1,000-task job of one task per machine spent half of its pass's evaluations on them).
      if (m === this.bestSlot || !fitsFree(snap, c, m) || (c.hasSpread && spreadFilter(snap, c, m) !== 0)) continue;
      // The fit term plus the most the other terms can add bounds the score: skip what cannot win.
      const bound = fitScore(snap, c, m, this.policy, this.ramPerCpu) + SCORE_BONUS_MAX;
      if (bound < this.bestScore || (bound === this.bestScore && m > this.bestSlot)) continue;
      if (this.evaluate(snap, c, m) !== 0) continue;
      if (this.evalScore > this.bestScore || (this.evalScore === this.bestScore && m < this.bestSlot)) {
        this.bestSlot = m;
        this.bestScore = this.evalScore;
      }
    }
  }

  private noteHot(slot: number): void {
    if (this.hotMachines === 0) return;
    for (let i = 0; i < this.hotCount; i++) if (this.hot[i] === slot) return;
    this.hot[this.hotNext] = slot;
    this.hotNext = (this.hotNext + 1) % this.hotMachines;
    if (this.hotCount < this.hotMachines) this.hotCount++;
  }

  /** pickBest: step 5, by cached scores. Returns the candidate's index, or -1 when the task avoids every candidate. */
  private pickBest(snap: CellSnapshot, c: TaskClass, task: SchedTask, nowMs: number): number {
    const avoiding = snap.hasAvoidances(task.id);
    let best = -1;
    let bestSlot = -1;
    let bestScore = -Infinity;
    for (let i = 0; i < c.nCand; i++) {
      const s = c.candScore[i] as number;
      const m = c.cand[i] as number;
      if (s < bestScore || (s === bestScore && m > bestSlot)) continue;
      if (avoiding && avoidFilter(snap, task.id, m, nowMs) !== 0) continue;
      best = i;
      bestSlot = m;
      bestScore = s;
    }
    return best;
  }

  /**
   * evaluate is feasibility then scoring of slot m for class c. Returns 0 (feasible; score and how it fits in
   * evalScore / evalFit), a reason code, or CODE_SKIP for an empty slot. Filters run cheapest and most selective
   * first: the state byte; the resource fit (what most why-pending lines are about on a loaded cell), with the
   * preemption-aware vector computed only when the plain fit fails; attribute constraints; spread limits (hash
   * lookups). A machine that fits only after evictions is scored with the least preemption cost it could have: the
   * victim search walks the machine's tasks, and only the machine that would win needs it (exactBest).
   */
  private evaluate(snap: CellSnapshot, c: TaskClass, m: number): number {
    this.stats.evaluations++;
    const st = snap.state[m] as number;
    if (st !== MACHINE_UP) return st === 0 ? CODE_SKIP : machineStateFilter(st);
    let fit = FIT_FREE;
    let r: number;
    if (!fitsFree(snap, c, m)) {
      // Per-machine sums decide most machines of a loaded cell exactly (the common case: nothing to evict, or
      // not enough even after evicting); only the rest build the preemptible vector from the machine's tasks.
      r = preemptionShortfall(snap, c, m);
      if (r > 0) return r;
      if (r === FIT_UNKNOWN) {
        availableWithPreemption(snap, c, m, this.avail);
        r = resourcesFilter(c, this.avail);
        if (r !== 0) return r;
        r = portsFilter(c, this.avail);
        if (r !== 0) return r;
      }
      fit = FIT_PREEMPT_BOUND;
    }
    if (c.conKeys.length > 0) {
      r = constraintsFilter(c, m);
      if (r !== 0) return r;
    }
    // Tasks of the job on m: read by the spread limit and the spreading score, counted once.
    const onMachine = snap.jobTasksOn(c.job, m);
    if (c.hasSpread) {
      r = spreadFilter(snap, c, m, onMachine);
      if (r !== 0) return r;
    }
    let penalty = 0;
    if (fit !== FIT_FREE) {
      // Evicting enough makes room (above). Unless the machine holds more tasks than one assignment may evict, the
      // victim search cannot fail, so the score takes the least preemption cost, a bound that exactBest makes exact
      // should the machine become the best candidate.
      if ((snap.machineTasks[m] as number[]).length > MAX_VICTIMS_PER_ASSIGNMENT) {
        penalty = this.searchVictims(snap, c, m);
        if (penalty < 0) return CODE_TOO_MANY_VICTIMS;
        fit = FIT_PREEMPT_EXACT;
      } else {
        penalty = boundPenalty(snap, m);
        fit = FIT_PREEMPT_BOUND;
      }
    }
    this.evalFit = fit;
    this.evalScore = scoreMachine(snap, c, m, this.policy, this.ramPerCpu, onMachine) - penalty;
    return 0;
  }

  /**
   * searchVictims searches the victims on m for c and returns their preemption cost, or -1 when no set of at most
   * MAX_VICTIMS_PER_ASSIGNMENT makes room. They stay in this.victims, for commit, until the snapshot changes.
   */
  private searchVictims(snap: CellSnapshot, c: TaskClass, m: number): number {
    const n = this.victims.find(snap, c, m);
    this.victimsSlot = n < 0 ? -1 : m;
    this.victimsClass = c;
    return n < 0 ? -1 : preemptionCost(n, this.victims.prioritySum);
  }

  /**
   * exactBest makes the best candidate's score exact, and returns it (-1: every candidate is avoided or gone). A
   * machine that needs evictions is scored with the least preemption cost it could have (evaluate) until it is
   * the best; then its victims are searched, its score is lowered to their exact cost, and the best is picked
   * again, until the best is exact. The choice is the one that exact scores for every candidate would give, for
   * about one victim search per placement instead of one per machine evaluated. With `tracked`, the best is the one
   * refreshCandidates and walk tracked, and most often its victims (one, at its lowest non-prod priority) cost
   * exactly the bound: it stays the best without a second look at the others.
   */
  private exactBest(snap: CellSnapshot, c: TaskClass, task: SchedTask, nowMs: number, tracked: boolean): number {
    if (tracked) {
      const m = this.bestSlot;
      const cost = this.searchVictims(snap, c, m);
      if (cost === boundPenalty(snap, m)) return m;
      this.settleBound(snap, c, c.indexOf(m), cost);
    }
    for (;;) {
      const i = this.pickBest(snap, c, task, nowMs);
      if (i < 0) return -1;
      const m = c.cand[i] as number;
      if (c.candFit[i] === FIT_PREEMPT_BOUND) {
        this.settleBound(snap, c, i, this.searchVictims(snap, c, m));
        continue;
      }
      this.bestValid = c;
      this.bestSlot = m;
      this.bestScore = c.candScore[i] as number;
      this.bestFit = c.candFit[i] as number;
      return m;
    }
  }

  /**
   * settleBound: candidate i of c, scored with the bound, had its victims searched (cost, -1 when they cannot make
   * room): its score drops to the exact cost, or it is dropped.
   */
  private settleBound(snap: CellSnapshot, c: TaskClass, i: number, cost: number): void {
    if (cost < 0) {
      c.reasonCounts[CODE_TOO_MANY_VICTIMS] = (c.reasonCounts[CODE_TOO_MANY_VICTIMS] as number) + 1;
      c.dropCandidate(i);
      return;
    }
    c.candScore[i] = exactScore(snap, c.cand[i] as number, c.candScore[i] as number, cost);
    c.candFit[i] = FIT_PREEMPT_EXACT;
  }

  /**
   * scanForAvoidingTask: every candidate of the class is a machine this task avoids. Rare (a task that crashed
   * on the class's favourite machines), so it scans the whole cell for this task alone.
   */
  private scanForAvoidingTask(snap: CellSnapshot, c: TaskClass, task: SchedTask, nowMs: number): number {
    let best = -1;
    let bestScore = -Infinity;
    for (let m = 0; m < snap.slotCount; m++) {
      if (this.evaluate(snap, c, m) !== 0 || avoidFilter(snap, task.id, m, nowMs) !== 0) continue;
      let score = this.evalScore;
      if (this.evalFit === FIT_PREEMPT_BOUND) {
        const cost = this.searchVictims(snap, c, m);
        if (cost < 0) continue;
        score = exactScore(snap, m, score, cost);
      }
      if (score > bestScore || (score === bestScore && m < best)) {
        best = m;
        bestScore = score;
      }
    }
    return best;
  }

  /**
   * commit applies the choice to the snapshot: evict victims (they rejoin the queue), then place the task.
   * Returns undefined when the victims no longer make room (a reservation drifted up since the cached check);
   * the task then waits for the next pass.
   */
  private commit(snap: CellSnapshot, queue: PendingQueue, task: SchedTask, c: TaskClass, slot: number): Assignment | undefined {
    const n = this.victimsSlot === slot && this.victimsClass === c ? this.victims.count : this.victims.find(snap, c, slot);
    if (n < 0) return undefined;
    // By slot: the task is queued (validated) and not placed (decide checked), the victims are slots on `slot`.
    const machineId = snap.machineIdOf(slot);
    const victimSlots = this.victims.victims;
    const classes = VICTIM_CLASSES;
    for (let i = 0; i < n; i++) {
      const t = victimSlots[i] as number;
      classes[i] = this.classAt(snap, t);
      this.slotClass[t] = undefined;
      this.slotTask[t] = undefined;
    }
    const evicted = EVICTED;
    const placed = snap.evictAndPlace(victimSlots, n, task, slot, evicted);
    if (placed >= this.slotClass.length) {
      // Grown with the snapshot's tables, to their size: at the same moments, not whenever V8 would grow these.
      this.slotClass = growRefs(this.slotClass, snap.taskSlotCapacity);
      this.slotTask = growRefs(this.slotTask, snap.taskSlotCapacity);
    }
    this.slotClass[placed] = c;
    this.slotTask[placed] = task;
    const victimIds = new Array<number>(n);
    for (let i = 0; i < n; i++) {
      const v = evicted[i] as SchedTask;
      victimIds[i] = v.id;
      // The victim's class is known when this scheduler placed it from the queue (a task placed from outside is
      // validated and keyed when it is queued and decided): its queue entry starts with it, and its job's classes
      // are found through it.
      const vc = classes[i];
      classes[i] = undefined;
      if (vc !== undefined) queue.requeue(v, vc);
      else queue.add(v);
      this.staleRack(snap, vc !== undefined ? vc.siblings : this.jobClasses.get(v.job), slot);
    }
    queue.remove(task.id);
    assertFits(snap, slot);
    this.stats.preemptions += victimIds.length;
    return { taskId: task.id, machineId, machineGeneration: snap.generation[slot] as number, victims: victimIds };
  }

  /** classAt: the live class of the task in task slot t, if this scheduler placed it there. */
  private classAt(snap: CellSnapshot, t: number): TaskClass | undefined {
    const c = this.slotClass[t];
    return c !== undefined && !c.dropped && this.slotTask[t] === snap.tTask[t] ? c : undefined;
  }

  /** verdictFor renders why a task stayed pending. The class's line is cached until its counts change. */
  private verdictFor(snap: CellSnapshot, c: TaskClass, task: SchedTask, nowMs: number): string {
    if (c.nCand > 0) {
      // Feasible machines exist but this task avoids all of them.
      const counts = c.reasonCounts.slice();
      let avoided = 0;
      for (let m = 0; m < snap.slotCount; m++) if (snap.state[m] !== 0 && avoidFilter(snap, task.id, m, nowMs) !== 0) avoided++;
      counts[CODE_AVOIDED_PAIRING] = avoided;
      return verdictLine(snap, c, 0, snap.liveMachines, counts);
    }
    if (c.verdict === undefined) c.verdict = verdictLine(snap, c, 0, snap.liveMachines, c.reasonCounts);
    return c.verdict;
  }

  private startCycle(snap: CellSnapshot, c: TaskClass): void {
    const n = snap.slotCount;
    // Relaxed randomization: each walk starts at a seeded random point of the permutation. Without it, every
    // walk starts at slot 0 of the identity order and visits every machine.
    const start = this.relaxedRandomization && n > 0 ? this.rng.int(n) : 0;
    c.startCycle(start, snap.layoutEpoch);
    // With samples by fit the room index gives a class its view directly; a donor's complete view would hand it
    // every feasible machine to recheck for each task.
    if (!this.bestSamples) this.inheritWalk(snap, c);
  }

  /** ensureSeen sizes the visit marks for the cell (once per pass, outside the loops that stamp them). */
  private ensureSeen(snap: CellSnapshot): void {
    if (this.seen.length >= snap.slotCount) return;
    this.seen = new Uint32Array(Math.max(64, snap.slotCount * 2));
    this.stamp = 0;
  }

  private nextStamp(snap: CellSnapshot): number {
    this.ensureSeen(snap);
    this.stamp = (this.stamp + 1) >>> 0;
    if (this.stamp === 0) {
      this.seen.fill(0);
      this.stamp = 1;
    }
    return this.stamp;
  }

  /** ensurePermutation rebuilds the machine visiting order when the set of slots changed. */
  private ensurePermutation(snap: CellSnapshot): void {
    if (this.permEpoch === snap.layoutEpoch && this.perm.length === snap.slotCount) return;
    const n = snap.slotCount;
    const perm = new Int32Array(n);
    for (let i = 0; i < n; i++) perm[i] = i;
    if (this.relaxedRandomization) {
      for (let i = n - 1; i > 0; i--) {
        const j = this.rng.int(i + 1);
        const t = perm[i] as number;
        perm[i] = perm[j] as number;
        perm[j] = t;
      }
    }
    this.perm = perm;
    this.permEpoch = snap.layoutEpoch;
  }

  private classFor(entry: QueueEntry): TaskClass {
    let c = entry.cls;
    if (c === undefined || c.dropped) {
      c = this.keyClass(entry.task);
      entry.cls = c;
    }
    // Least recently used is decided from lastUse when the cache is over budget (evictClasses), not kept in order.
    c.lastUse = ++this.useSeq;
    return c;
  }

  /** keyClass finds or creates the class of a task not seen before. */
  private keyClass(task: SchedTask): TaskClass {
    // Tasks of one job arrive in runs: when the requirements equal the last keyed task's, its class is ours
    // without building the key string.
    const last = this.lastKeyed;
    if (this.equivalenceClasses && last !== undefined && !last.dropped && sameClassKey(task, this.lastKeyedTask)) return last;
    const key = this.equivalenceClasses ? classKey(task) : `#${task.id}`;
    let c = this.classes.get(key);
    if (c === undefined) {
      c = new TaskClass(key, task, REASON_SLOTS, Math.min(this.limit, 64));
      if (this.spare !== undefined) {
        c.adoptStorage(this.spare);
        this.spare = undefined;
      }
      this.classes.set(key, c);
      if (this.scoreCaching && this.equivalenceClasses) {
        let list = this.jobClasses.get(c.job);
        if (list === undefined) {
          list = [];
          this.jobClasses.set(c.job, list);
        }
        list.push(c);
        c.siblings = list;
      }
      this.cacheEntries += c.entries;
    }
    this.lastKeyed = c;
    this.lastKeyedTask = task;
    return c;
  }

  private dropClass(c: TaskClass): void {
    if (this.classes.delete(c.key)) this.cacheEntries -= c.entries;
    c.dropped = true;
    if (c.isParked) this.unpark(c);
    const list = c.siblings;
    if (list === undefined) return;
    c.siblings = undefined;
    const i = list.indexOf(c);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.jobClasses.delete(c.job);
  }

  /**
   * staleRack: a task of a job was placed on or evicted from `slot`, which changes the job's count in that rack.
   * The spreading scorer reads it for every machine of the rack, but only `slot`'s generation moves, so each of the
   * job's classes notes the rack (TaskClass.markRackStale), and its next refresh scores its candidates there again.
   * (Measured: without this, exhaustive views with score caching placed 0.2% fewer tasks on the 2011 trace than
   * without score caching.) Noted, not applied here: applied, it walked every candidate of every class of the job
   * at each placement and eviction, 0.7-1.5 ms a pass online, mostly in the cold classes of victims. `list` is the
   * job's live classes (TaskClass.siblings, so no lookup by job on this path).
   */
  private staleRack(snap: CellSnapshot, list: readonly TaskClass[] | undefined, slot: number): void {
    if (list === undefined) return;
    const rack = snap.rack[slot] as number;
    for (const c of list) c.markRackStale(rack);
  }

  /**
   * evictClasses keeps the cache within its budget, least recently used first (cells/limits.ts). During a pass
   * (`keepParked`) parked classes stay: their tasks are owed this pass's verdict from them.
   */
  private evictClasses(keepParked: boolean): void {
    if (this.cacheEntries <= SCHED_CACHE_MAX_ENTRIES && this.classes.size <= SCHED_MAX_CLASSES) return;
    // Rare (the budget holds a few full-cell scans): order by last use then, rather than on every use.
    const byAge = [...this.classes.values()].sort((a, b) => a.lastUse - b.lastUse);
    for (const c of byAge) {
      if (this.cacheEntries <= SCHED_CACHE_MAX_ENTRIES && this.classes.size <= SCHED_MAX_CLASSES) break;
      if (keepParked && c.isParked) continue;
      this.dropClass(c);
    }
  }
}

/** lastOfPass: the task being decided is class c's last queued task of this pass (see TaskClass.queuedLeft). */
function lastOfPass(pass: number, c: TaskClass): boolean {
  return c.queuedPass === pass && c.queuedLeft === 0;
}

/** verdictOf reuses the entry's last verdict object while its text is unchanged, so a long tail allocates nothing. */
function verdictOf(entry: QueueEntry, why: string): Verdict {
  const v = entry.verdict;
  if (v !== undefined && v.why === why) return v;
  const fresh: Verdict = { taskId: entry.task.id, why };
  entry.verdict = fresh;
  return fresh;
}

/**
 * boundShort: CODE_INSUFFICIENT_CPU or CODE_INSUFFICIENT_RAM when the class's room bound on UP slot m (room_index.ts)
 * cannot hold its request, else 0. The bound is at least the free room and at most what evictions could give, so a
 * machine short of it is infeasible, and evaluate names the same reason for it (preemptionShortfall checks the same
 * bound first, cpu before ram), as the room index does for the machines outside a superset.
 */
function boundShort(snap: CellSnapshot, c: TaskClass, m: number): number {
  if (c.needCpu > snap.roomOf(c.roomKind, m, DIM_CPU)) return CODE_INSUFFICIENT_CPU;
  if (c.needRam > snap.roomOf(c.roomKind, m, DIM_RAM)) return CODE_INSUFFICIENT_RAM;
  return 0;
}

/** roomBoundFits: the class's room bound on slot m holds its request (necessary for feasibility). */
function roomBoundFits(snap: CellSnapshot, c: TaskClass, m: number): boolean {
  return boundShort(snap, c, m) === 0;
}

/** boundPenalty: the least preemption cost an eviction from slot m could have (the bound evaluate scores with). */
function boundPenalty(snap: CellSnapshot, m: number): number {
  return preemptionCostFloor(snap.minNonProdPriority[m] as number);
}

/** exactScore: the score of slot m, scored with the bound, once its victims are known to cost `cost`. */
function exactScore(snap: CellSnapshot, m: number, boundScore: number, cost: number): number {
  return boundScore + boundPenalty(snap, m) - cost;
}

/** verdictHolds: class c found no machine and nothing was freed (nor the layout changed) since; its verdict stands. */
function verdictHolds(snap: CellSnapshot, c: TaskClass): c is TaskClass & { verdict: string } {
  return c.exhausted && c.exhaustedFreedSeq === snap.freedSeq && c.layoutEpoch === snap.layoutEpoch && c.verdict !== undefined;
}

function takeFromLargest(counts: Int32Array): void {
  let best = -1;
  for (let i = 0; i < counts.length; i++) if ((counts[i] as number) > 0 && (best < 0 || (counts[i] as number) > (counts[best] as number))) best = i;
  if (best >= 0) counts[best] = (counts[best] as number) - 1;
}

/** assertFits states the invariant of every placement the scheduler makes: no charged dimension oversubscribed. */
function assertFits(snap: CellSnapshot, slot: number): void {
  const b = slot * DIMS;
  for (let d = 0; d < DIMS; d++) {
    const cap = snap.cap[b + d] as number;
    // Messages are built only on failure: this runs for every placement.
    if ((snap.resAll[b + d] as number) > cap) assert(false, `placement oversubscribes reservations on slot ${slot} dim ${d}`);
    if ((snap.prodLimit[b + d] as number) > cap) assert(false, `placement oversubscribes prod limits on slot ${slot} dim ${d}`);
  }
}

/**
 * workloadShape is how fast ram fills relative to cpu across the cell's demand (placed reservations plus the
 * pending requests, each as a fraction of capacity); the hybrid scorer keeps free resources in this shape.
 */
function workloadShape(snap: CellSnapshot, queue: PendingQueue): number {
  const capCpu = snap.totalCap[DIM_CPU] as number;
  const capRam = snap.totalCap[DIM_RAM] as number;
  const useCpu = (snap.totalRes[DIM_CPU] as number) + queue.demandCpuMillis;
  const useRam = (snap.totalRes[DIM_RAM] as number) + queue.demandRamBytes;
  if (capCpu <= 0 || capRam <= 0 || useCpu <= 0 || useRam <= 0) return 1;
  const shape = useRam / capRam / (useCpu / capCpu);
  return Math.min(4, Math.max(0.25, shape));
}
