// One unit of work for the compaction run: a variant, a trial and (for split cells) one part, compacted alone.
// Runs in a worker thread (worker.ts) or in-line; the same seed gives the same answer either way.
import { performance } from 'node:perf_hooks';
import { VirtualClock } from '../../model/clock';
import type { WorkloadMachine, WorkloadTask } from '../workloads/types';
import { allowedPending, compact, DEFAULT_FEASIBLE_LIMIT, pickyTasks } from './compact';
import { splitByJob, variantTasks, type ReservationModel, type Variant } from './experiments';

export interface JobContext {
  machines: WorkloadMachine[];
  tasks: WorkloadTask[];
  model: ReservationModel;
  /** poolFactor: the largest cell tried, as a multiple of the real cell (machines past it are clones). */
  poolFactor: number;
  /** resolutionFraction: search resolution as a fraction of the real cell's machines. */
  resolutionFraction: number;
  feasibleLimit: number;
}

export interface Job {
  variant: Variant;
  trial: number;
  part: number;
  seed: number;
  /** hintRatio: where the search starts, as a multiple of the fluid bound (index.ts: trial 0's answer over its bound). */
  hintRatio?: number;
}

export interface JobResult {
  variantId: string;
  trial: number;
  part: number;
  tasks: number;
  picky: number;
  allowedPending: number;
  machines: number;
  fits: boolean;
  packings: number;
  /** lowerBoundMachines: where an unhinted search starts (the larger of the order's fluid bound and the spread bound). */
  lowerBoundMachines: number;
  /** hintRatio: the search started at this multiple of lowerBoundMachines (undefined: at the bound). */
  hintRatio?: number;
  pending: number;
  reservedCpuFraction: number;
  reservedRamFraction: number;
  strandedCpuFraction: number;
  strandedRamFraction: number;
  /** wallSeconds: how long the compaction took in its thread (Node 20 has no per-thread CPU clock). */
  wallSeconds: number;
}

export function defaultContext(machines: WorkloadMachine[], tasks: WorkloadTask[], model: ReservationModel): JobContext {
  return { machines, tasks, model, poolFactor: 2, resolutionFraction: 0.0025, feasibleLimit: DEFAULT_FEASIBLE_LIMIT };
}

/** runJob compacts one job. The split into cells is seeded by the trial alone, so every part sees the same split. */
export function runJob(ctx: JobContext, job: Job, onPacking?: () => void): JobResult {
  const t0 = performance.now();
  let tasks = variantTasks(ctx.tasks, job.variant, ctx.model);
  if (job.variant.cells > 1) tasks = splitByJob(tasks, job.variant.cells, job.seed * 31 + job.variant.cells)[job.part] ?? [];
  const picky = pickyTasks(ctx.machines, tasks);
  const allowed = allowedPending(tasks.length, picky);
  const n = ctx.machines.length;
  const r = compact(
    ctx.machines,
    tasks,
    {
      policy: job.variant.policy,
      seed: job.seed * 1009 + job.part,
      poolMachines: Math.max(n, Math.ceil(n * ctx.poolFactor)),
      allowedPending: allowed,
      resolutionMachines: Math.max(1, Math.round(n * ctx.resolutionFraction)),
      feasibleLimit: ctx.feasibleLimit,
      ...(job.hintRatio !== undefined ? { hintRatio: job.hintRatio } : {}),
    },
    new VirtualClock(0),
    onPacking,
  );
  const s = r.atSize.stats;
  return {
    variantId: job.variant.id,
    trial: job.trial,
    part: job.part,
    tasks: tasks.length,
    picky,
    allowedPending: allowed,
    machines: r.machines,
    fits: r.fits,
    packings: r.packings,
    lowerBoundMachines: r.lowerBoundMachines,
    ...(job.hintRatio !== undefined ? { hintRatio: job.hintRatio } : {}),
    pending: r.atSize.pending,
    reservedCpuFraction: s.capacityCpuMillis > 0 ? s.reservedCpuMillis / s.capacityCpuMillis : 0,
    reservedRamFraction: s.capacityRamBytes > 0 ? s.reservedRamBytes / s.capacityRamBytes : 0,
    strandedCpuFraction: s.strandedCpuFraction,
    strandedRamFraction: s.strandedRamFraction,
    wallSeconds: (performance.now() - t0) / 1000,
  };
}
