// CellSnapshot is the scheduler's cached copy of the cell in struct-of-arrays form: one typed array per field,
// indexed by machine slot (and by task slot for placed tasks), so feasibility and scoring read a few numbers and
// allocate nothing. The caller keeps it current with incremental updates (machines up/down/drain, tasks placed,
// evicted or finished, reservations); every change that matters to scheduling bumps the machine's generation.
//
// Accounting (DESIGN.md §6, B15 §5.5), per machine and per dimension (cpu, ram, disk, ports):
//   resAll    sum of the reservations of every task (what the machine is expected to really use)
//   prodLimit sum of the limits of prod tasks (what prod is guaranteed)
//   prodRes   sum of the reservations of prod tasks
// Invariants the scheduler keeps for its own placements: prodLimit <= capacity and resAll <= capacity.
import { assert, unreachable } from '../model/assert';
import { InvalidArgument, NotFound, AlreadyExists } from '../model/errors';
import { FREE_MAX, isProd, PRIORITY_MAX } from '../model/priority';
import type { Resources } from '../model/resources';
import { MAX_MACHINES_PER_CELL, MAX_TASKS_PER_CELL, MAX_TASKS_PER_MACHINE, SCHED_FREED_LOG_ENTRIES, SCHED_MAX_JOB_DOMAIN_COUNTERS } from '../cells/limits';
import { IdMap } from './id_map';
import { Interner } from './interner';
import { PairCounter } from './pair_counter';
import { ALL_ROOM_KINDS, ROOM_ABOVE_LOWEST, ROOM_FREE, ROOM_FREE_BAND, ROOM_KINDS, ROOM_NON_PROD, ROOM_PROD, RoomIndex, roomKindsMovedBy, type RoomKind } from './room_index';
import { MACHINE_DOWN, MACHINE_DRAINING, MACHINE_EMPTY, MACHINE_UP, type MachineStateCode, type SchedMachine, type SchedTask } from './types';

/** DIMS: cpuMillis, ramBytes, diskBytes, ports, in that order in every 4-wide array. */
export const DIMS = 4;
export const DIM_CPU = 0;
export const DIM_RAM = 1;
export const DIM_DISK = 2;
export const DIM_PORTS = 3;

/**
 * RESERVATION_QUANTUM_FRACTION: a reservation change smaller than this fraction of the machine's capacity (in
 * every dimension) does not bump the generation, so cached scores survive reclamation's small drifts. Resource
 * fit is still checked exactly on every use, so this trades only score freshness, never correctness.
 */
export const RESERVATION_QUANTUM_FRACTION = 1 / 64;

/** NO_NONPROD_PRIORITY marks a machine without non-prod tasks in minNonProdPriority. */
export const NO_NONPROD_PRIORITY = PRIORITY_MAX + 1;

const AVOID_MAX_PER_TASK = 16;

/** JOB_BINS: bins of a machine's job summary (CellSnapshot.jobBits); jobBin hashes a job id to one. */
const JOB_BINS = 32;
function jobBin(job: number): number {
  return Math.imul(job, 0x9e3779b1) >>> 27;
}

interface Avoidance {
  machineSlot: number;
  untilMs: number;
}

function growF64(a: Float64Array, n: number): Float64Array<ArrayBuffer> {
  const b = new Float64Array(n);
  b.set(a);
  return b;
}
function growI32(a: Int32Array, n: number, fill = 0): Int32Array<ArrayBuffer> {
  const b = new Int32Array(n);
  if (fill !== 0) b.fill(fill);
  b.set(a);
  return b;
}
/**
 * growRefs extends an array of references to n entries (undefined), like the typed arrays beside it, instead of
 * letting it grow whenever V8 decides as it is written past its end: that can be in the middle of a pass, and
 * arrays indexed alike then grow one after another (measured: one online pass of the 2011 trace took ~1,070 page
 * faults, against ~60 in the others). Pushed one by one, so that it stays a packed array (no holes to check).
 */
export function growRefs<T>(a: (T | undefined)[], n: number): (T | undefined)[] {
  while (a.length < n) a.push(undefined);
  return a;
}

export class CellSnapshot {
  /** Interners for everything the scheduler compares: attribute keys and values, jobs, users, racks, power domains. */
  readonly attrKeys = new Interner();
  readonly attrValues = new Interner();
  readonly jobs = new Interner();
  readonly users = new Interner();
  readonly racks = new Interner();
  readonly powerDomains = new Interner();

  // --- machines, by slot ---
  /** slotCount: slots in use or freed (high-water mark); permutations range over [0, slotCount). */
  slotCount = 0;
  liveMachines = 0;
  /** totalCap, totalRes: cell-wide sums of capacity and reservations of live machines, per dimension. */
  readonly totalCap = new Float64Array(DIMS);
  readonly totalRes = new Float64Array(DIMS);
  private machineCapacity = 0;
  state = new Uint8Array(0);
  generation = new Uint32Array(0);
  /**
   * driftVersion counts reservation changes too small to bump the generation. A cached fit is trusted while
   * both are unchanged; when only this moved, the scheduler rechecks the fit exactly but keeps the cached score.
   */
  driftVersion = new Uint32Array(0);
  machineId = new Float64Array(0);
  rack = new Int32Array(0);
  power = new Int32Array(0);
  cap = new Float64Array(0);
  resAll = new Float64Array(0);
  prodLimit = new Float64Array(0);
  prodRes = new Float64Array(0);
  /** minNonProdPriority: lowest priority of a non-prod task on the machine, so a non-prod candidate skips machines with nothing it may evict. */
  minNonProdPriority = new Int32Array(0);
  /**
   * freeBandRes: reservations of free-band tasks (priority <= FREE_MAX); minBatchPriority: lowest priority of a
   * non-prod task above the free band. Together they give a batch candidate its preemptible room in O(1) when no
   * batch task on the machine is below it (the common case), instead of a walk over the machine's tasks.
   */
  freeBandRes = new Float64Array(0);
  /**
   * lowestRes: reservations of tasks at priority 0, the lowest there is: exactly what a priority-1 candidate may
   * evict (the free band's two levels in the trace numbering), so its room is known without a walk over tasks.
   */
  lowestRes = new Float64Array(0);
  minBatchPriority = new Int32Array(0);
  /**
   * minNonProdCount, minBatchCount: how many tasks on the machine are at those priorities, so removing one of
   * several (an eviction takes the lowest first) keeps the minimum without a walk over the machine's tasks.
   */
  private minNonProdCount = new Int32Array(0);
  private minBatchCount = new Int32Array(0);
  /**
   * rooms: the UP machines bucketed by the room each kind of candidate could get (room_index.ts), kept current by
   * indexRoom() after every change of capacity, state or charges, so the scheduler's walks on a loaded cell visit
   * only machines that could fit.
   */
  readonly rooms = new RoomIndex();
  /**
   * jobBits, jobBinCount: per machine, a 32-bin summary of its tasks' jobs (bit b set while jobBinCount[slot * 32 +
   * b] tasks of jobs hashing to bin b run there), so jobTasksOn answers "none" for most (job, machine) pairs
   * without walking the machine's tasks.
   */
  private jobBits = new Int32Array(0);
  private jobBinCount = new Uint16Array(0);
  /** jobBinJob: the job of a bin's only task while it has exactly one and it is known (-1 otherwise). */
  private jobBinJob = new Int32Array(0);
  /** machineTasks: task slots on each machine (unordered). */
  machineTasks: number[][] = [];
  /** attrColumns: one column per attribute key; value id per machine slot, 0 when absent. */
  readonly attrColumns = new Map<number, Int32Array>();
  /** columnsEpoch changes when a column is created or regrown, so classes holding column references refresh them. */
  columnsEpoch = 0;
  private readonly slotOf = new Map<number, number>();
  private readonly freeSlots: number[] = [];
  /** layoutEpoch changes when machine slots are added or freed, so permutations over slots are rebuilt. */
  layoutEpoch = 0;

  /**
   * freedLog is a ring of machine slots that may have become more feasible (resources freed, state back to UP,
   * capacity or attributes changed); freedSeq counts entries ever written. A class that found no machine only
   * rechecks the slots logged since, instead of the whole cell.
   */
  readonly freedLog = new Int32Array(SCHED_FREED_LOG_ENTRIES);
  freedSeq = 0;
  /**
   * lastFreedSeq[slot]: the freedSeq at which the slot was last logged (never older than its last logging; at
   * worst newer, which only costs a recheck). Unlike the ring it never overflows, so a class that found no
   * machine can intersect the room index's superset with "freed since" instead of reading a long log.
   */
  lastFreedSeq = new Float64Array(0);
  /**
   * deferredKinds: while evictAndPlace runs, charge() leaves the room index alone and collects here the grids the
   * change moves (a bit per room kind); the machine is moved once at the end. -1 when not deferring.
   */
  private deferredKinds = -1;

  // --- placed tasks, by task slot ---
  private taskCapacity = 0;
  private taskSlotCount = 0;
  tPriority = new Int32Array(0);
  tJob = new Int32Array(0);
  tMachine = new Int32Array(0);
  private tPos = new Int32Array(0);
  tLimit = new Float64Array(0);
  tRes = new Float64Array(0);
  tTask: (SchedTask | undefined)[] = [];
  /** tPlacedSeq: when the task was placed (a counter), so reports can list placements in order. */
  private tPlacedSeq = new Float64Array(0);
  private placedSeq = 0;
  private readonly taskSlotOf = new IdMap<number>();
  private readonly freeTaskSlots: number[] = [];
  private readonly avoid = new Map<number, Avoidance[]>();

  /**
   * Tasks of a job per rack and per power domain (spread limits and spreading). Per machine, jobTasksOn reads the
   * machine's job summary (jobBits) and walks its few tasks only when the job's bin is set: cheaper than a shared
   * hash table of every (job, machine) pair, which misses the cache on every lookup and update.
   * jobPerRack is kept always: the spreading scorer reads it for every machine it scores. The count per power
   * domain is read only for a job with a power-domain spread limit, which few set, while keeping it costs a probe
   * of a large table on every placement and eviction: it is counted from the placed tasks when first asked for
   * (jobTasksInPowerDomain) and kept from then on.
   */
  readonly jobPerRack = new PairCounter(SCHED_MAX_JOB_DOMAIN_COUNTERS);
  private jobPerPower: PairCounter | undefined = undefined;
  /** jobPlaced: placed tasks per job (by interned job id), so that a job with none needs no lookup per rack. */
  private jobPlaced = new Int32Array(0);

  // ---------------------------------------------------------------------------------------------- machines

  /** addMachine adds an UP/DRAINING/DOWN machine with no tasks. */
  addMachine(m: SchedMachine): void {
    checkMachine(m);
    if (this.slotOf.has(m.id)) throw new AlreadyExists(`machine ${m.id}`);
    if (this.liveMachines >= MAX_MACHINES_PER_CELL) throw new InvalidArgument('machine', `a cell has at most ${MAX_MACHINES_PER_CELL} machines`);
    let slot = this.freeSlots.pop();
    if (slot === undefined) {
      slot = this.slotCount++;
      this.ensureMachineCapacity(this.slotCount);
    }
    this.slotOf.set(m.id, slot);
    this.liveMachines++;
    this.layoutEpoch++;
    this.machineId[slot] = m.id;
    this.machineTasks[slot] = [];
    const b = slot * DIMS;
    for (let d = 0; d < DIMS; d++) {
      this.resAll[b + d] = 0;
      this.prodLimit[b + d] = 0;
      this.prodRes[b + d] = 0;
    }
    this.resetLowest(slot);
    for (let d = 0; d < DIMS; d++) {
      this.freeBandRes[slot * DIMS + d] = 0;
      this.lowestRes[slot * DIMS + d] = 0;
    }
    this.generation[slot] = (this.generation[slot] as number) + 1;
    // A new slot counts as freed now (the layout change restarts every class's view anyway).
    this.lastFreedSeq[slot] = this.freedSeq;
    this.writeMachine(slot, m);
  }

  /** updateMachine replaces capacity, attributes, failure domains and state of a known machine; its tasks stay. */
  updateMachine(m: SchedMachine): void {
    checkMachine(m);
    const slot = this.slot(m.id);
    const tasks = this.machineTasks[slot] ?? [];
    const domainsChange = this.rack[slot] !== m.rack || this.power[slot] !== m.powerDomain;
    if (domainsChange) for (const t of tasks) this.countDomains(t, slot, -1);
    this.writeMachine(slot, m);
    if (domainsChange) for (const t of tasks) this.countDomains(t, slot, +1);
    this.bump(slot);
    this.logFreed(slot);
  }

  private writeMachine(slot: number, m: SchedMachine): void {
    this.addCapacity(slot, -1);
    this.state[slot] = m.state;
    this.rack[slot] = m.rack;
    this.power[slot] = m.powerDomain;
    const b = slot * DIMS;
    this.cap[b] = m.capacity.cpuMillis;
    this.cap[b + 1] = m.capacity.ramBytes;
    this.cap[b + 2] = m.capacity.diskBytes;
    this.cap[b + 3] = m.capacity.ports;
    this.addCapacity(slot, +1);
    for (const col of this.attrColumns.values()) col[slot] = 0;
    for (const [k, v] of m.attributes) this.column(k)[slot] = v;
    this.indexRoom(slot);
  }

  /** addCapacity adds (or takes away) a slot's capacity in the cell totals; slots being written start at zero. */
  private addCapacity(slot: number, sign: 1 | -1): void {
    const b = slot * DIMS;
    for (let d = 0; d < DIMS; d++) this.totalCap[d] = (this.totalCap[d] as number) + sign * (this.cap[b + d] as number);
  }

  /**
   * removeMachine frees the machine's slot. Its tasks are removed too and returned, so the caller can put them
   * back in the pending queue (the master decides whether they are LOST; the scheduler only forgets them).
   */
  removeMachine(id: number): SchedTask[] {
    const slot = this.slot(id);
    const orphans: SchedTask[] = [];
    for (const t of [...(this.machineTasks[slot] ?? [])]) orphans.push(this.removeTaskSlot(t));
    this.slotOf.delete(id);
    this.addCapacity(slot, -1);
    for (let d = 0; d < DIMS; d++) this.cap[slot * DIMS + d] = 0;
    this.state[slot] = MACHINE_EMPTY;
    this.rooms.remove(slot);
    this.machineTasks[slot] = [];
    for (const col of this.attrColumns.values()) col[slot] = 0;
    this.bump(slot);
    this.freeSlots.push(slot);
    this.liveMachines--;
    this.layoutEpoch++;
    return orphans;
  }

  setMachineState(id: number, state: MachineStateCode): void {
    if (state !== MACHINE_UP && state !== MACHINE_DRAINING && state !== MACHINE_DOWN) throw new InvalidArgument('machine.state', `unknown state ${String(state)}`);
    const slot = this.slot(id);
    if (this.state[slot] === state) return;
    this.state[slot] = state;
    this.indexRoom(slot);
    this.bump(slot);
    if (state === MACHINE_UP) this.logFreed(slot);
  }

  hasMachine(id: number): boolean {
    return this.slotOf.has(id);
  }

  /** slot returns the machine's slot; unknown ids are a NotFound (they come from outside). */
  slot(id: number): number {
    const s = this.slotOf.get(id);
    if (s === undefined) throw new NotFound(`machine ${id}`);
    return s;
  }

  machineIdOf(slot: number): number {
    if (!(slot >= 0 && slot < this.slotCount && this.state[slot] !== MACHINE_EMPTY)) assert(false, `no machine in slot ${slot}`);
    return this.machineId[slot] as number;
  }

  machineGeneration(id: number): number {
    return this.generation[this.slot(id)] as number;
  }

  /** machineIds lists the live machines in slot order. */
  machineIds(): number[] {
    const out: number[] = [];
    for (let s = 0; s < this.slotCount; s++) if (this.state[s] !== MACHINE_EMPTY) out.push(this.machineId[s] as number);
    return out;
  }

  /** column returns the attribute column for a key id, creating it on first use. */
  column(key: number): Int32Array {
    let col = this.attrColumns.get(key);
    if (col === undefined) {
      col = new Int32Array(this.machineCapacity);
      this.attrColumns.set(key, col);
      this.columnsEpoch++;
    }
    return col;
  }

  private ensureMachineCapacity(n: number): void {
    if (n <= this.machineCapacity) return;
    let cap = Math.max(64, this.machineCapacity);
    while (cap < n) cap *= 2;
    const s = new Uint8Array(cap);
    s.set(this.state);
    this.state = s;
    const g = new Uint32Array(cap);
    g.set(this.generation);
    this.generation = g;
    const dv = new Uint32Array(cap);
    dv.set(this.driftVersion);
    this.driftVersion = dv;
    this.lastFreedSeq = growF64(this.lastFreedSeq, cap);
    this.machineId = growF64(this.machineId, cap);
    this.rack = growI32(this.rack, cap);
    this.power = growI32(this.power, cap);
    this.cap = growF64(this.cap, cap * DIMS);
    this.resAll = growF64(this.resAll, cap * DIMS);
    this.prodLimit = growF64(this.prodLimit, cap * DIMS);
    this.prodRes = growF64(this.prodRes, cap * DIMS);
    this.minNonProdPriority = growI32(this.minNonProdPriority, cap, NO_NONPROD_PRIORITY);
    this.minBatchPriority = growI32(this.minBatchPriority, cap, NO_NONPROD_PRIORITY);
    this.minNonProdCount = growI32(this.minNonProdCount, cap);
    this.minBatchCount = growI32(this.minBatchCount, cap);
    this.jobBits = growI32(this.jobBits, cap);
    const bins = new Uint16Array(cap * JOB_BINS);
    bins.set(this.jobBinCount);
    this.jobBinCount = bins;
    this.jobBinJob = growI32(this.jobBinJob, cap * JOB_BINS);
    this.freeBandRes = growF64(this.freeBandRes, cap * DIMS);
    this.lowestRes = growF64(this.lowestRes, cap * DIMS);
    for (const [k, col] of this.attrColumns) this.attrColumns.set(k, growI32(col, cap));
    this.columnsEpoch++;
    this.rooms.ensure(cap);
    this.machineCapacity = cap;
  }

  private bump(slot: number): void {
    this.generation[slot] = ((this.generation[slot] as number) + 1) >>> 0;
  }

  private logFreed(slot: number): void {
    this.lastFreedSeq[slot] = this.freedSeq;
    this.rooms.noteFreed(slot, this.freedSeq);
    this.freedLog[this.freedSeq % SCHED_FREED_LOG_ENTRIES] = slot;
    this.freedSeq++;
  }

  // ------------------------------------------------------------------------------------------------- tasks

  /**
   * placeTask records a task running (or assigned) on a machine, charged its limit and a reservation (its limit
   * unless given: a new task's reservation is its limit, B15 §5.5). It mirrors the master's state, so it does not
   * refuse an oversubscribed machine; the scheduler never produces one itself.
   */
  placeTask(task: SchedTask, machineId: number, reservation?: Resources): void {
    const slot = this.placeableSlot(task, machineId);
    const res = reservation ?? task.limit;
    checkReservation(res, task.limit);
    this.placeAt(task, slot, res);
  }

  /** placeableSlot: the slot of a live machine for a task not placed yet (the checks of every placement from outside). */
  private placeableSlot(task: SchedTask, machineId: number): number {
    if (this.taskSlotOf.has(task.id)) throw new AlreadyExists(`task ${task.id} is already placed`);
    const slot = this.slot(machineId);
    if (this.state[slot] === MACHINE_EMPTY) throw new NotFound(`machine ${machineId}`);
    return slot;
  }

  /** placeAt places a task known not to be placed on a live slot, with a checked reservation; returns its task slot. */
  private placeAt(task: SchedTask, slot: number, res: Resources): number {
    const list = this.machineTasks[slot] as number[];
    if (list.length >= MAX_TASKS_PER_MACHINE) throw new InvalidArgument('machine', `machine ${this.machineId[slot]} already runs ${MAX_TASKS_PER_MACHINE} tasks`);
    if (this.taskSlotOf.size >= MAX_TASKS_PER_CELL) throw new InvalidArgument('task', `a cell has at most ${MAX_TASKS_PER_CELL} tasks`);
    let t = this.freeTaskSlots.pop();
    if (t === undefined) {
      t = this.taskSlotCount++;
      this.ensureTaskCapacity(this.taskSlotCount);
    }
    this.taskSlotOf.set(task.id, t);
    this.tTask[t] = task;
    this.tPriority[t] = task.priority;
    this.tJob[t] = task.job;
    this.tMachine[t] = slot;
    this.tPlacedSeq[t] = ++this.placedSeq;
    this.tPos[t] = list.length;
    list.push(t);
    const bin = jobBin(task.job);
    const bi = slot * JOB_BINS + bin;
    if ((this.jobBinCount[bi] = (this.jobBinCount[bi] as number) + 1) === 1) {
      this.jobBits[slot] = (this.jobBits[slot] as number) | (1 << bin);
      this.jobBinJob[bi] = task.job;
    }
    const tb = t * DIMS;
    writeVec(this.tLimit, tb, task.limit);
    writeVec(this.tRes, tb, res);
    // Ports are never reclaimed: a port is held or it is not.
    this.tRes[tb + DIM_PORTS] = task.limit.ports;
    this.charge(t, slot, +1);
    this.countDomains(t, slot, +1);
    this.countLowest(slot, task.priority);
    this.bump(slot);
    return t;
  }

  /** removeTask forgets a placed task (evicted, finished, failed, killed or lost) and returns it. */
  removeTask(taskId: number): SchedTask {
    const t = this.taskSlotOf.get(taskId);
    if (t === undefined) throw new NotFound(`placed task ${taskId}`);
    return this.removeTaskSlot(t);
  }

  private removeTaskSlot(t: number): SchedTask {
    const task = this.tTask[t];
    assert(task !== undefined, 'removeTaskSlot: the task slot is empty');
    const slot = this.tMachine[t] as number;
    const list = this.machineTasks[slot] as number[];
    const pos = this.tPos[t] as number;
    const last = list.pop() as number;
    if (last !== t) {
      list[pos] = last;
      this.tPos[last] = pos;
    }
    const bin = jobBin(task.job);
    const bi = slot * JOB_BINS + bin;
    const left = (this.jobBinCount[bi] = (this.jobBinCount[bi] as number) - 1);
    if (left === 0) this.jobBits[slot] = (this.jobBits[slot] as number) & ~(1 << bin);
    // One task left in the bin: which job it belongs to is not known without a walk.
    else if (left === 1) this.jobBinJob[bi] = -1;
    this.charge(t, slot, -1);
    this.countDomains(t, slot, -1);
    this.uncountLowest(slot, task.priority);
    this.taskSlotOf.delete(task.id);
    this.tTask[t] = undefined;
    this.freeTaskSlots.push(t);
    this.bump(slot);
    // Inside evictAndPlace the change as a whole decides whether the machine is logged as freed.
    if (this.deferredKinds < 0) this.logFreed(slot);
    return task;
  }

  /**
   * preemptAndPlace evicts `victimIds` from a machine and places `task` there, as one change: the machine is
   * logged as freed only if it ends with more room in some dimension than before, so a preemption that merely
   * swaps work does not send every waiting class to recheck it. Returns the evicted tasks.
   */
  preemptAndPlace(victimIds: readonly number[], task: SchedTask, machineId: number): SchedTask[] {
    const slot = this.placeableSlot(task, machineId);
    checkReservation(task.limit, task.limit);
    const victimSlots: number[] = [];
    for (const id of victimIds) {
      const t = this.taskSlotOf.get(id);
      if (t === undefined) throw new NotFound(`placed task ${id}`);
      if (this.tMachine[t] !== slot) throw new InvalidArgument('victims', `task ${id} is not on machine ${machineId}`);
      if (victimSlots.includes(t)) throw new InvalidArgument('victims', `task ${id} is named twice`);
      victimSlots.push(t);
    }
    const evicted: SchedTask[] = [];
    this.evictAndPlace(victimSlots, victimSlots.length, task, slot, evicted);
    return evicted;
  }

  /**
   * evictAndPlace is preemptAndPlace by slot, the scheduler's own commit path: `task` comes from the pending queue
   * (validated there, and not placed: the scheduler checks), the machine slot from its candidates, and the first
   * `n` victims are distinct task slots on that machine (VictimFinder), so nothing is looked up by id. The evicted
   * tasks are written to `evicted` (cleared first; the caller's scratch), in victim order; returns the task slot
   * the task was placed in.
   */
  evictAndPlace(victimSlots: ArrayLike<number>, n: number, task: SchedTask, slot: number, evicted: SchedTask[]): number {
    const b = slot * DIMS;
    const before0 = this.resAll[b] as number;
    const before1 = this.resAll[b + 1] as number;
    const before2 = this.resAll[b + 2] as number;
    const before3 = this.resAll[b + 3] as number;
    if (evicted.length !== 0) evicted.length = 0;
    let placed: number;
    // One room-index move for the whole change instead of one per victim and one for the placement.
    this.deferredKinds = 0;
    try {
      for (let i = 0; i < n; i++) {
        const t = victimSlots[i] as number;
        assert(this.tMachine[t] === slot && this.tTask[t] !== undefined, 'evictAndPlace: a victim is not on the machine');
        evicted.push(this.removeTaskSlot(t));
      }
      placed = this.placeAt(task, slot, task.limit);
    } finally {
      const kinds = this.deferredKinds;
      this.deferredKinds = -1;
      this.indexRoom(slot, kinds);
    }
    if (n === 0) return placed;
    const r = this.resAll;
    if ((r[b] as number) < before0 || (r[b + 1] as number) < before1 || (r[b + 2] as number) < before2 || (r[b + 3] as number) < before3) this.logFreed(slot);
    return placed;
  }

  /**
   * updateReservation sets a placed task's reservation (the Borglet's estimate, at most its limit). Changes under
   * RESERVATION_QUANTUM_FRACTION of capacity do not bump the generation (small changes ignored).
   */
  updateReservation(taskId: number, reservation: Resources): void {
    const t = this.taskSlotOf.get(taskId);
    if (t === undefined) throw new NotFound(`placed task ${taskId}`);
    const task = this.tTask[t] as SchedTask;
    checkReservation(reservation, task.limit);
    const slot = this.tMachine[t] as number;
    this.charge(t, slot, -1);
    const tb = t * DIMS;
    let material = false;
    let freed = false;
    const next = [reservation.cpuMillis, reservation.ramBytes, reservation.diskBytes, task.limit.ports];
    for (let d = 0; d < DIMS; d++) {
      const old = this.tRes[tb + d] as number;
      const v = next[d] as number;
      if (Math.abs(v - old) > (this.cap[slot * DIMS + d] as number) * RESERVATION_QUANTUM_FRACTION) material = true;
      if (v < old) freed = true;
      this.tRes[tb + d] = v;
    }
    this.charge(t, slot, +1);
    if (material) this.bump(slot);
    else this.driftVersion[slot] = ((this.driftVersion[slot] as number) + 1) >>> 0;
    if (freed) this.logFreed(slot);
  }

  /** placedReservation returns a placed task's current reservation, or undefined when it is not placed. */
  placedReservation(taskId: number): Resources | undefined {
    const t = this.taskSlotOf.get(taskId);
    if (t === undefined) return undefined;
    const b = t * DIMS;
    return { cpuMillis: this.tRes[b] as number, ramBytes: this.tRes[b + 1] as number, diskBytes: this.tRes[b + 2] as number, ports: this.tRes[b + 3] as number };
  }

  isPlaced(taskId: number): boolean {
    return this.taskSlotOf.has(taskId);
  }

  /** placedTask returns a placed task as the snapshot charges it (its priority and limits), or undefined. */
  placedTask(taskId: number): SchedTask | undefined {
    const t = this.taskSlotOf.get(taskId);
    return t === undefined ? undefined : this.tTask[t];
  }

  /** machineOfTask returns the machine id a placed task runs on. */
  machineOfTask(taskId: number): number {
    const t = this.taskSlotOf.get(taskId);
    if (t === undefined) throw new NotFound(`placed task ${taskId}`);
    return this.machineId[this.tMachine[t] as number] as number;
  }

  placedTasks(): number {
    return this.taskSlotOf.size;
  }

  /** forEachPlaced calls f(task, machineId) for every placed task, oldest placement first (reports, not hot paths). */
  forEachPlaced(f: (task: SchedTask, machineId: number) => void): void {
    const slots: number[] = [];
    this.taskSlotOf.forEach((t) => slots.push(t));
    slots.sort((a, b) => (this.tPlacedSeq[a] as number) - (this.tPlacedSeq[b] as number));
    for (const t of slots) f(this.tTask[t] as SchedTask, this.machineId[this.tMachine[t] as number] as number);
  }

  private charge(t: number, slot: number, sign: 1 | -1): void {
    const tb = t * DIMS;
    const mb = slot * DIMS;
    const p = this.tPriority[t] as number;
    const prod = isProd(p);
    const freeBand = p <= FREE_MAX;
    const lowest = p <= 0;
    for (let d = 0; d < DIMS; d++) {
      const r = sign * (this.tRes[tb + d] as number);
      this.resAll[mb + d] = (this.resAll[mb + d] as number) + r;
      this.totalRes[d] = (this.totalRes[d] as number) + r;
      if (freeBand) this.freeBandRes[mb + d] = (this.freeBandRes[mb + d] as number) + r;
      if (lowest) this.lowestRes[mb + d] = (this.lowestRes[mb + d] as number) + r;
      if (prod) {
        this.prodRes[mb + d] = (this.prodRes[mb + d] as number) + r;
        this.prodLimit[mb + d] = (this.prodLimit[mb + d] as number) + sign * (this.tLimit[tb + d] as number);
      }
    }
    let kinds = roomKindsMovedBy(p);
    if (sign < 0 && (this.machineTasks[slot] as number[]).length === 0) {
      kinds = ALL_ROOM_KINDS;
      // Exact zero when the machine empties, so float drift can never accumulate across a cell's life.
      for (let d = 0; d < DIMS; d++) {
        this.resAll[mb + d] = 0;
        this.prodRes[mb + d] = 0;
        this.prodLimit[mb + d] = 0;
        this.freeBandRes[mb + d] = 0;
        this.lowestRes[mb + d] = 0;
      }
    }
    if (this.deferredKinds < 0) this.indexRoom(slot, kinds);
    else this.deferredKinds |= kinds;
  }

  /**
   * indexRoom files an UP machine in the room grids `kinds` (a bit per room kind; the others have not moved) by its
   * current room, and takes any other machine out of every grid.
   */
  private indexRoom(slot: number, kinds = ALL_ROOM_KINDS): void {
    if (this.state[slot] !== MACHINE_UP) {
      this.rooms.remove(slot);
      return;
    }
    const freedAt = this.lastFreedSeq[slot] as number;
    for (let k = 0; k < ROOM_KINDS; k++) if ((kinds & (1 << k)) !== 0) this.rooms.set(k, slot, this.roomOf(k as RoomKind, slot, DIM_CPU), this.roomOf(k as RoomKind, slot, DIM_RAM), freedAt);
  }

  /**
   * roomOf is the room in dimension d (DIM_CPU .. DIM_PORTS) that a candidate of room kind `kind` could get on slot m
   * (room_index.ts lists the kinds): what the room index files the machine under (cpu and ram), the bound the
   * scheduler checks a machine against before evaluating it, and the room preemptionShortfall compares a request to.
   */
  roomOf(kind: RoomKind, m: number, d: number): number {
    const i = m * DIMS + d;
    const cap = this.cap[i] as number;
    switch (kind) {
      case ROOM_FREE:
        return cap - (this.resAll[i] as number);
      case ROOM_ABOVE_LOWEST:
        return cap - (this.resAll[i] as number) + (this.lowestRes[i] as number);
      case ROOM_FREE_BAND:
        return cap - (this.resAll[i] as number) + (this.freeBandRes[i] as number);
      case ROOM_NON_PROD:
        return cap - (this.prodRes[i] as number);
      case ROOM_PROD:
        return cap - (this.prodLimit[i] as number);
      default:
        return unreachable(kind, 'room kind');
    }
  }

  private countDomains(t: number, slot: number, delta: number): void {
    const job = this.tJob[t] as number;
    if (job >= this.jobPlaced.length) this.jobPlaced = growI32(this.jobPlaced, Math.max(1024, 2 * job + 2));
    this.jobPlaced[job] = (this.jobPlaced[job] as number) + delta;
    this.jobPerRack.add(job, this.rack[slot] as number, delta);
    this.jobPerPower?.add(job, this.power[slot] as number, delta);
  }

  /** jobTasksInRack counts the placed tasks of `job` in the rack of machine slot m. */
  jobTasksInRack(job: number, m: number): number {
    return (this.jobPlaced[job] ?? 0) === 0 ? 0 : this.jobPerRack.get(job, this.rack[m] as number);
  }

  /** jobTasksInPowerDomain counts the placed tasks of `job` in the power domain of machine slot m. */
  jobTasksInPowerDomain(job: number, m: number): number {
    if ((this.jobPlaced[job] ?? 0) === 0) return 0;
    if (this.jobPerPower === undefined) {
      const counts = new PairCounter(SCHED_MAX_JOB_DOMAIN_COUNTERS);
      this.taskSlotOf.forEach((t) => counts.add(this.tJob[t] as number, this.power[this.tMachine[t] as number] as number, 1));
      this.jobPerPower = counts;
    }
    return this.jobPerPower.get(job, this.power[m] as number);
  }

  /** jobTasksOn counts the tasks of `job` on machine slot m. */
  jobTasksOn(job: number, m: number): number {
    const bin = jobBin(job);
    if (((this.jobBits[m] as number) & (1 << bin)) === 0) return 0;
    // A bin holding one task of a known job answers without a walk too.
    const bi = m * JOB_BINS + bin;
    if (this.jobBinCount[bi] === 1) {
      const only = this.jobBinJob[bi] as number;
      if (only === job) return 1;
      if (only >= 0) return 0;
    }
    const tasks = this.machineTasks[m];
    if (tasks === undefined) return 0;
    const tJob = this.tJob;
    let n = 0;
    for (let i = 0; i < tasks.length; i++) if (tJob[tasks[i] as number] === job) n++;
    return n;
  }

  /** resetLowest: slot holds no non-prod task (the lowest priorities and their counts start over). */
  private resetLowest(slot: number): void {
    this.minNonProdPriority[slot] = NO_NONPROD_PRIORITY;
    this.minBatchPriority[slot] = NO_NONPROD_PRIORITY;
    this.minNonProdCount[slot] = 0;
    this.minBatchCount[slot] = 0;
  }

  /** countLowest: a task of priority p joins slot's lowest non-prod and batch priorities and their counts. */
  private countLowest(slot: number, p: number): void {
    if (isProd(p)) return;
    countMin(this.minNonProdPriority, this.minNonProdCount, slot, p);
    if (p > FREE_MAX) countMin(this.minBatchPriority, this.minBatchCount, slot, p);
  }

  /**
   * uncountLowest: a task of priority p left slot. The machine's tasks are walked for the lowest priorities again
   * only when the last task at one of them left.
   */
  private uncountLowest(slot: number, p: number): void {
    if (isProd(p)) return;
    const nonProdGone = uncountMin(this.minNonProdPriority, this.minNonProdCount, slot, p);
    const batchGone = uncountMin(this.minBatchPriority, this.minBatchCount, slot, p);
    if (!nonProdGone && !batchGone) return;
    this.resetLowest(slot);
    for (const t of this.machineTasks[slot] as number[]) this.countLowest(slot, this.tPriority[t] as number);
  }

  private ensureTaskCapacity(n: number): void {
    if (n <= this.taskCapacity) return;
    let cap = Math.max(1024, this.taskCapacity);
    while (cap < n) cap *= 2;
    this.tPriority = growI32(this.tPriority, cap);
    this.tJob = growI32(this.tJob, cap);
    this.tMachine = growI32(this.tMachine, cap);
    this.tPos = growI32(this.tPos, cap);
    this.tPlacedSeq = growF64(this.tPlacedSeq, cap);
    this.tLimit = growF64(this.tLimit, cap * DIMS);
    this.tRes = growF64(this.tRes, cap * DIMS);
    this.tTask = growRefs(this.tTask, cap);
    this.taskCapacity = cap;
  }

  /** taskSlotCapacity: the task slots the tables of placed tasks hold before they grow. */
  get taskSlotCapacity(): number {
    return this.taskCapacity;
  }

  // --------------------------------------------------------------------------------------------- avoidance

  /**
   * avoidPairing keeps a task off a machine until untilMs (it crashed there, or crashed the machine). Only the
   * newest AVOID_MAX_PER_TASK pairings per task are kept, so the list stays tiny and bounded.
   */
  avoidPairing(taskId: number, machineId: number, untilMs: number): void {
    const slot = this.slot(machineId);
    let list = this.avoid.get(taskId);
    if (list === undefined) {
      list = [];
      this.avoid.set(taskId, list);
    }
    const existing = list.find((a) => a.machineSlot === slot);
    if (existing) existing.untilMs = Math.max(existing.untilMs, untilMs);
    else list.push({ machineSlot: slot, untilMs });
    if (list.length > AVOID_MAX_PER_TASK) list.shift();
  }

  /** forgetAvoidances drops a task's pairings (the task is gone for good). */
  forgetAvoidances(taskId: number): void {
    this.avoid.delete(taskId);
  }

  /** avoids says whether the task must stay off the slot at nowMs. */
  avoids(taskId: number, slot: number, nowMs: number): boolean {
    const list = this.avoid.get(taskId);
    if (list === undefined) return false;
    for (const a of list) if (a.machineSlot === slot && a.untilMs > nowMs) return true;
    return false;
  }

  hasAvoidances(taskId: number): boolean {
    return this.avoid.has(taskId);
  }
}

/** countMin: priority p joins a per-slot (lowest priority, tasks at it) tally. */
function countMin(mins: Int32Array, counts: Int32Array, slot: number, p: number): void {
  const min = mins[slot] as number;
  if (p < min) {
    mins[slot] = p;
    counts[slot] = 1;
  } else if (p === min) counts[slot] = (counts[slot] as number) + 1;
}

/** uncountMin: a task of priority p left a per-slot tally; true when it was the last at the lowest priority. */
function uncountMin(mins: Int32Array, counts: Int32Array, slot: number, p: number): boolean {
  if (p !== mins[slot]) return false;
  const n = (counts[slot] as number) - 1;
  counts[slot] = n;
  return n === 0;
}

function writeVec(a: Float64Array, b: number, r: Resources): void {
  a[b] = r.cpuMillis;
  a[b + 1] = r.ramBytes;
  a[b + 2] = r.diskBytes;
  a[b + 3] = r.ports;
}

function checkDim(v: number, field: string, dim: string): void {
  if (!Number.isSafeInteger(v) || v < 0) throw new InvalidArgument(`${field}.${dim}`, `must be a non-negative integer, got ${String(v)}`);
}

/**
 * checkVec validates a vector from outside; field by field, without allocating (it runs on every placement: the
 * field's name is joined only when it is reported).
 */
function checkVec(r: Resources, field: string): void {
  checkDim(r.cpuMillis, field, 'cpuMillis');
  checkDim(r.ramBytes, field, 'ramBytes');
  checkDim(r.diskBytes, field, 'diskBytes');
  checkDim(r.ports, field, 'ports');
}

function checkMachine(m: SchedMachine): void {
  if (!Number.isSafeInteger(m.id) || m.id < 0) throw new InvalidArgument('machine.id', `must be a non-negative integer, got ${m.id}`);
  checkVec(m.capacity, 'machine.capacity');
  if (m.state !== MACHINE_UP && m.state !== MACHINE_DRAINING && m.state !== MACHINE_DOWN) throw new InvalidArgument('machine.state', `unknown state ${String(m.state)}`);
  for (const [k, v] of m.attributes) {
    if (!Number.isInteger(k) || k <= 0 || !Number.isInteger(v) || v <= 0) throw new InvalidArgument('machine.attributes', 'keys and values are interned ids (> 0)');
  }
  if (!Number.isInteger(m.rack) || m.rack < 0 || !Number.isInteger(m.powerDomain) || m.powerDomain < 0) throw new InvalidArgument('machine.rack', 'rack and power domain are interned ids (>= 0)');
}

function checkReservation(res: Resources, limit: Resources): void {
  checkVec(res, 'reservation');
  if (res.cpuMillis > limit.cpuMillis || res.ramBytes > limit.ramBytes || res.diskBytes > limit.diskBytes) {
    throw new InvalidArgument('reservation', 'must not exceed the limit in any dimension');
  }
}
