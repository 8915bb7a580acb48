// Cell compaction (B15 §5.1): how few machines can a workload be packed into? Machines are removed in a seeded
// random order, the workload is re-packed from scratch by the real scheduler each time, and a search over the
// machine count finds the smallest prefix of that order into which it still fits. Pure: no IO, no wall time.
import type { SchedulerConfig, FitPolicy } from '../../cells/config';
import { assert, unreachable } from '../../model/assert';
import type { Clock } from '../../model/clock';
import { SeededRng, type Rng } from '../../model/rng';
import { CellSnapshot, IdTable, Interner, MACHINE_UP, PendingQueue, Scheduler, cellStats, type CellStats, type SchedMachine, type SchedTask } from '../../scheduler/index';
import { toSchedTask } from '../workloads/scheduler_input';
import type { WorkloadMachine, WorkloadTask } from '../workloads/types';

/** PICKY_FRACTION: B15 §5.1 lets at most 0.2% of tasks stay pending ("picky" tasks) in a cell that fits. */
export const PICKY_FRACTION = 0.002;
/** DEFAULT_FEASIBLE_LIMIT: the scheduler's relaxed-randomization sample (as benchmarks/scheduler). */
export const DEFAULT_FEASIBLE_LIMIT = 64;

export interface CompactionOptions {
  policy: FitPolicy;
  seed: number;
  /** poolMachines: the largest cell tried; beyond the cell's own machines, clones of them in the same random order. */
  poolMachines: number;
  /** allowedPending: a cell fits when at most this many tasks stay pending (picky tasks and the 0.2%). */
  allowedPending: number;
  /** resolutionMachines: the search stops when the fitting and non-fitting sizes are this close (1 = exact). */
  resolutionMachines: number;
  feasibleLimit: number;
  /**
   * hintRatio: start the search at this multiple of the order's fluid bound instead of at the bound itself (an
   * earlier trial's answer over its own fluid bound, for the same variant). The search then steps by
   * `resolutionMachines` from there, doubling, until it brackets the answer. Every size is still packed from
   * scratch; the hint only decides which sizes are tried, so it changes the cost, not the method.
   */
  hintRatio?: number;
}

export interface PackResult {
  machines: number;
  pending: number;
  /** pendingCpuMillis, pendingRamBytes: the limits (as charged) of the tasks left pending. */
  pendingCpuMillis: number;
  pendingRamBytes: number;
  stats: CellStats;
}

export interface CompactionResult {
  /** machines: the smallest cell size found that fits (Infinity-free: undefined fit means even the pool did not fit). */
  machines: number;
  fits: boolean;
  /** packings: how many from-scratch packings the search ran. */
  packings: number;
  /**
   * lowerBoundMachines: where a search without a hint starts: the larger of this order's prefix fluid bound and
   * the spread bound (a job allowed one task per machine needs as many machines as it has tasks).
   */
  lowerBoundMachines: number;
  /** atSize: the packing at `machines` (pending tasks, reserved and stranded resources). */
  atSize: PackResult;
}

/** machineOrder is the seeded random order machines are kept in (the first k form the cell of size k), with clones past the cell. */
export function machineOrder(machines: readonly WorkloadMachine[], poolMachines: number, rng: Rng): WorkloadMachine[] {
  assert(machines.length > 0, 'a cell needs machines');
  const out: WorkloadMachine[] = [];
  for (let round = 0; out.length < poolMachines; round++) {
    const idx = Array.from(machines.keys());
    for (let i = idx.length - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      const t = idx[i] as number;
      idx[i] = idx[j] as number;
      idx[j] = t;
    }
    for (const i of idx) {
      if (out.length >= poolMachines) break;
      const m = machines[i] as WorkloadMachine;
      out.push(round === 0 ? m : { ...m, name: `${m.name}~clone${round}` });
    }
  }
  return out;
}

/** typicalRequest: the median cpu and ram request, the task size below which free resources count as stranded. */
export function typicalRequest(tasks: readonly WorkloadTask[]): { cpuMillis: number; ramBytes: number } {
  const cpus = tasks.map((t) => t.limit.cpuMillis).sort((a, b) => a - b);
  const rams = tasks.map((t) => t.limit.ramBytes).sort((a, b) => a - b);
  return { cpuMillis: cpus[Math.floor(cpus.length / 2)] ?? 0, ramBytes: rams[Math.floor(rams.length / 2)] ?? 0 };
}

/**
 * PreparedWorkload: the tasks in the scheduler's compact form, converted once per compaction instead of once per
 * packing (the conversion was a fifth of a full-cell packing). `names` are the interned strings in id order: a
 * fresh snapshot interns them in the same order first, so the prepared tasks' ids mean the same in every packing.
 */
export interface PreparedWorkload {
  machines: SchedMachine[];
  tasks: SchedTask[];
  names: { attrKeys: string[]; attrValues: string[]; jobs: string[]; users: string[]; racks: string[]; powerDomains: string[] };
}

function internedNames(i: Interner): string[] {
  return Array.from({ length: i.size }, (_, k) => i.name(k + 1));
}

/** prepareWorkload converts the machine order and the tasks once; pack(k) then uses the first k machines. */
export function prepareWorkload(order: readonly WorkloadMachine[], tasks: readonly WorkloadTask[]): PreparedWorkload {
  // The same conversion as loadWorkload (scheduler_input.ts), kept apart from any snapshot's machine table.
  const s = new CellSnapshot();
  const machineIds = new IdTable();
  const taskIds = new IdTable();
  const machines = order.map(
    (m): SchedMachine => ({
      id: machineIds.id(m.name),
      capacity: m.capacity,
      attributes: Object.entries(m.attributes).map(([k, v]) => [s.attrKeys.id(k), s.attrValues.id(v)] as const),
      rack: s.racks.id(m.rack),
      powerDomain: s.powerDomains.id(m.powerDomain),
      state: MACHINE_UP,
    }),
  );
  return {
    machines,
    tasks: tasks.map((t) => toSchedTask(t, s, taskIds)),
    names: { attrKeys: internedNames(s.attrKeys), attrValues: internedNames(s.attrValues), jobs: internedNames(s.jobs), users: internedNames(s.users), racks: internedNames(s.racks), powerDomains: internedNames(s.powerDomains) },
  };
}

/** packPrepared schedules every prepared task from scratch onto the first k prepared machines with the real scheduler. */
export function packPrepared(w: PreparedWorkload, k: number, config: SchedulerConfig, clock: Clock, typical: { cpuMillis: number; ramBytes: number }): PackResult {
  assert(k >= 1 && k <= w.machines.length, `pack size ${k} within the prepared order of ${w.machines.length}`);
  const snap = new CellSnapshot();
  const n = w.names;
  for (const x of n.attrKeys) snap.attrKeys.id(x);
  for (const x of n.attrValues) snap.attrValues.id(x);
  for (const x of n.jobs) snap.jobs.id(x);
  for (const x of n.users) snap.users.id(x);
  for (const x of n.racks) snap.racks.id(x);
  for (const x of n.powerDomains) snap.powerDomains.id(x);
  for (let i = 0; i < k; i++) snap.addMachine(w.machines[i] as SchedMachine);
  const sched = new Scheduler(config, new SeededRng(config.seed), clock);
  const queue = new PendingQueue();
  for (const t of w.tasks) queue.add(t);
  // One unbounded pass places what fits; further passes only matter when preemption sent victims back to the queue.
  for (let pass = 0; pass < 16 && queue.size > 0; pass++) {
    const plan = sched.schedulePass(snap, queue, { maxAssignments: Number.MAX_SAFE_INTEGER });
    if (plan.assignments.length === 0) break;
  }
  return { machines: k, pending: queue.size, pendingCpuMillis: queue.demandCpuMillis, pendingRamBytes: queue.demandRamBytes, stats: cellStats(snap, typical.cpuMillis, typical.ramBytes) };
}

/** pack schedules every task from scratch onto the given machines with the real scheduler and counts what stays pending. */
export function pack(machines: readonly WorkloadMachine[], tasks: readonly WorkloadTask[], config: SchedulerConfig, clock: Clock, typical: { cpuMillis: number; ramBytes: number }): PackResult {
  return packPrepared(prepareWorkload(machines, tasks), machines.length, config, clock, typical);
}

/**
 * compact finds the smallest k such that the workload fits on the first k machines of a seeded random order.
 * The search starts at the fluid bound of that order (the shortest prefix whose capacity covers the demand in
 * every dimension), gallops in doubling steps of 1% of it, then bisects. It assumes fitting is monotone in k,
 * which holds for the fluid bound and, up to packing noise, for the scheduler.
 */
export function compact(machines: readonly WorkloadMachine[], tasks: readonly WorkloadTask[], o: CompactionOptions, clock: Clock, onPacking?: (p: PackResult) => void): CompactionResult {
  assert(o.poolMachines >= machines.length, 'the pool holds at least the cell');
  assert(o.resolutionMachines >= 1, 'resolution is at least one machine');
  const order = machineOrder(machines, o.poolMachines, new SeededRng(o.seed));
  const config: SchedulerConfig = { policy: o.policy, scoreCaching: true, equivalenceClasses: true, relaxedRandomization: true, feasibleLimit: o.feasibleLimit, passIntervalMs: 0, seed: o.seed };
  const typical = typicalRequest(tasks);
  const prepared = prepareWorkload(order, tasks);
  let meanCpuMillis = 0;
  let meanRamBytes = 0;
  for (const m of machines) {
    meanCpuMillis += m.capacity.cpuMillis / machines.length;
    meanRamBytes += m.capacity.ramBytes / machines.length;
  }
  const results = new Map<number, PackResult>();
  let packings = 0;
  const fits = (k: number): boolean => {
    let r = results.get(k);
    if (r === undefined) {
      r = packPrepared(prepared, k, config, clock, typical);
      packings++;
      results.set(k, r);
      onPacking?.(r);
    }
    return r.pending <= o.allowedPending;
  };
  const fluid = Math.min(order.length, Math.max(1, prefixFluidBound(order, tasks), spreadBound(tasks, o.allowedPending)));
  // Without a hint: start at the fluid bound (nothing smaller can fit) with steps of 1% of it. With a hint (an
  // earlier trial's answer), start there with steps of the resolution: trials differ by a few resolutions.
  const hinted = o.hintRatio !== undefined;
  const start = hinted ? Math.min(order.length, Math.max(fluid, Math.round(fluid * (o.hintRatio as number)))) : fluid;
  const step0 = hinted ? o.resolutionMachines : Math.max(1, Math.ceil(start * 0.01));
  let lo: number; // largest size known not to fit (0: none)
  let hi: number; // smallest size known to fit
  if (fits(start)) {
    hi = start;
    lo = 0;
    for (let step = step0, k = start - step; k >= 1; step *= 2, k = hi - step) {
      if (!fits(k)) {
        lo = k;
        break;
      }
      hi = k;
    }
  } else {
    lo = start;
    hi = -1;
    for (let step = step0; ; step *= 2) {
      // Upward, the tasks left pending say how far off the size is: their excess demand needs at least that many
      // more machines of the cell's mean shape. Jumping there (when it is more than the doubling step) saves the
      // probes in between; fragmentation makes it an underestimate, so the next probes still walk up from it.
      const k = Math.min(order.length, lo + Math.max(step, pendingMachines(results.get(lo) as PackResult, o.allowedPending, meanCpuMillis, meanRamBytes)));
      if (fits(k)) {
        hi = k;
        break;
      }
      lo = k;
      if (k === order.length) break;
    }
    if (hi < 0) return { machines: order.length, fits: false, packings, lowerBoundMachines: fluid, atSize: results.get(order.length) as PackResult };
  }
  while (hi - lo > o.resolutionMachines) {
    const mid = Math.floor((lo + hi) / 2);
    if (fits(mid)) hi = mid;
    else lo = mid;
  }
  return { machines: hi, fits: true, packings, lowerBoundMachines: fluid, atSize: results.get(hi) as PackResult };
}

/**
 * pendingMachines: how many machines of the mean shape the pending tasks beyond the allowance would fill at least
 * (their share of the pending demand, in the binding resource). 0 when nothing beyond the allowance is pending.
 */
export function pendingMachines(r: PackResult, allowedPending: number, meanCpuMillis: number, meanRamBytes: number): number {
  if (r.pending <= allowedPending || meanCpuMillis <= 0 || meanRamBytes <= 0) return 0;
  const excess = (r.pending - allowedPending) / r.pending;
  return Math.ceil(Math.max((r.pendingCpuMillis * excess) / meanCpuMillis, (r.pendingRamBytes * excess) / meanRamBytes));
}

/**
 * spreadBound: a job limited to m tasks per machine needs ceil(tasks / m) machines, whatever their size. With the
 * tasks allowed to stay pending taken from the largest such job, no smaller cell can fit. In a split cell this
 * bound, not the fluid one, often decides: a part that drew a large one-per-machine job needs a machine per task.
 */
export function spreadBound(tasks: readonly WorkloadTask[], allowedPending = 0): number {
  const jobs = new Map<string, { tasks: number; perMachine: number }>();
  for (const t of tasks) {
    if (t.spread.maxPerMachine <= 0) continue;
    const key = `${t.user}/${t.job}`;
    const j = jobs.get(key);
    if (j === undefined) jobs.set(key, { tasks: 1, perMachine: t.spread.maxPerMachine });
    else j.tasks++;
  }
  let most = 0;
  for (const j of jobs.values()) most = Math.max(most, Math.ceil(Math.max(0, j.tasks - allowedPending) / j.perMachine));
  return most;
}

/** prefixFluidBound: the shortest prefix of `order` whose summed cpu, ram and disk cover the tasks' summed requests. */
export function prefixFluidBound(order: readonly WorkloadMachine[], tasks: readonly WorkloadTask[]): number {
  let cpu = 0;
  let ram = 0;
  let disk = 0;
  for (const t of tasks) {
    cpu += t.limit.cpuMillis;
    ram += t.limit.ramBytes;
    disk += t.limit.diskBytes;
  }
  let c = 0;
  let r = 0;
  let d = 0;
  for (let i = 0; i < order.length; i++) {
    if (c >= cpu && r >= ram && d >= disk) return i;
    const m = order[i] as WorkloadMachine;
    c += m.capacity.cpuMillis;
    r += m.capacity.ramBytes;
    d += m.capacity.diskBytes;
  }
  return order.length;
}

export interface FluidBound {
  /** cpuMachines, ramMachines: total demand over the cell's mean machine capacity, per resource. */
  cpuMachines: number;
  ramMachines: number;
  /** machines: the larger of the two, the physical limit no packing can beat. */
  machines: number;
}

/** fluidBound: total demand / mean per-machine capacity of the cell's own machine shapes, per resource (B15 §5.1). */
export function fluidBound(machines: readonly WorkloadMachine[], tasks: readonly WorkloadTask[]): FluidBound {
  let capCpu = 0;
  let capRam = 0;
  for (const m of machines) {
    capCpu += m.capacity.cpuMillis;
    capRam += m.capacity.ramBytes;
  }
  let cpu = 0;
  let ram = 0;
  for (const t of tasks) {
    cpu += t.limit.cpuMillis;
    ram += t.limit.ramBytes;
  }
  const n = machines.length;
  const cpuMachines = capCpu > 0 ? (cpu * n) / capCpu : 0;
  const ramMachines = capRam > 0 ? (ram * n) / capRam : 0;
  return { cpuMachines, ramMachines, machines: Math.max(cpuMachines, ramMachines) };
}

/**
 * pickyTasks: tasks that cannot run on any machine of the full cell even when it is empty (a request larger than
 * every machine that meets their constraints, or more tasks of a one-per-machine job than such machines). They
 * are decided once, on the full cell, and always allowed to stay pending.
 */
export function pickyTasks(machines: readonly WorkloadMachine[], tasks: readonly WorkloadTask[]): number {
  // Machines and tasks are grouped by shape first: the trace has a handful of machine shapes and few request sizes.
  const shapes = new Map<string, { m: WorkloadMachine; count: number }>();
  for (const m of machines) {
    const c = m.capacity;
    const key = `${c.cpuMillis}/${c.ramBytes}/${c.diskBytes}/${c.ports}/${JSON.stringify(Object.entries(m.attributes).sort())}`;
    const s = shapes.get(key);
    if (s === undefined) shapes.set(key, { m, count: 1 });
    else s.count++;
  }
  const hostsOf = new Map<string, number>();
  let picky = 0;
  const perMachineJobs = new Map<string, { count: number; hosts: number; perMachine: number }>();
  for (const t of tasks) {
    const l = t.limit;
    const key = `${l.cpuMillis}/${l.ramBytes}/${l.diskBytes}/${l.ports}/${JSON.stringify(t.constraints)}`;
    let hosts = hostsOf.get(key);
    if (hosts === undefined) {
      hosts = 0;
      for (const { m, count } of shapes.values()) {
        const c = m.capacity;
        if (c.cpuMillis < l.cpuMillis || c.ramBytes < l.ramBytes || c.diskBytes < l.diskBytes || c.ports < l.ports) continue;
        if (!t.constraints.every((k) => constraintHolds(k.op, m.attributes[k.key], k.values))) continue;
        hosts += count;
      }
      hostsOf.set(key, hosts);
    }
    if (hosts === 0) {
      picky++;
      continue;
    }
    if (t.spread.maxPerMachine > 0) {
      const job = `${t.user}/${t.job}`;
      const j = perMachineJobs.get(job) ?? { count: 0, hosts, perMachine: t.spread.maxPerMachine };
      j.count++;
      j.hosts = Math.min(j.hosts, hosts);
      perMachineJobs.set(job, j);
    }
  }
  for (const [, j] of perMachineJobs) picky += Math.max(0, j.count - j.hosts * j.perMachine);
  return picky;
}

function constraintHolds(op: WorkloadTask['constraints'][number]['op'], value: string | undefined, values: string[]): boolean {
  switch (op) {
    case '=':
      return value !== undefined && value === values[0];
    case '!=':
      return value === undefined || value !== values[0];
    case 'in':
      return value !== undefined && values.includes(value);
    case 'exists':
      return value !== undefined;
    case '!exists':
      return value === undefined;
    default:
      return unreachable(op, 'constraint op');
  }
}

/** allowedPending: a cell fits with at most max(picky tasks, 0.2% of the tasks) pending. */
export function allowedPending(taskCount: number, picky: number): number {
  return Math.max(picky, Math.floor(taskCount * PICKY_FRACTION));
}
