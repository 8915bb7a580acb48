// The five B15 §5 experiments as workload variants: which tasks, charged how, rounded how, packed by which policy,
// in how many cells. Each variant is compacted per trial; experiments compare variants' totals across trials.
import type { FitPolicy } from '../../cells/config';
import { assert } from '../../model/assert';
import { InvalidArgument } from '../../model/errors';
import { isProd } from '../../model/priority';
import { GiB } from '../../model/resources';
import { SeededRng } from '../../model/rng';
import type { WorkloadTask } from '../workloads/types';

export const EXPERIMENTS = ['sharing', 'bucketing', 'reclamation', 'policies', 'cells'] as const;
export type Experiment = (typeof EXPERIMENTS)[number];

/**
 * ReservationModel: what a non-prod task is charged when reclamation is on. The trace at time 0 has limits only
 * (its usage table is not in this repository), so the reservation is a fraction of the limit per resource:
 * Borg's estimate is usage plus a safety margin (B15 §5.5). Defaults: cell-wide usage over requests in this trace
 * as reported by Reiss et al. (SoCC 2012), about 0.30 for CPU and 0.55 for memory, plus the cell's safety
 * margin of 0.15 of the limit (cells/local.yaml reclamation.safetyMargin): 0.45 and 0.70.
 */
export interface ReservationModel {
  cpuFraction: number;
  ramFraction: number;
}
export const DEFAULT_RESERVATION_MODEL: Readonly<ReservationModel> = Object.freeze({ cpuFraction: 0.45, ramFraction: 0.7 });

export type Accounting = 'reservations' | 'limits';
export type Subset = 'all' | 'prod' | 'nonprod';

/** Variant: one compaction setting. `cells` > 1 splits the jobs at random into that many cells, each compacted alone. */
export interface Variant {
  id: string;
  policy: FitPolicy;
  accounting: Accounting;
  bucketed: boolean;
  subset: Subset;
  cells: number;
}

const base: Variant = { id: 'baseline', policy: 'hybrid', accounting: 'reservations', bucketed: false, subset: 'all', cells: 1 };

/** Arm: one bar of an experiment: the sum, per trial, of the machines its variants need. */
export interface Arm {
  label: string;
  variants: Variant[];
}

export function experimentArms(e: Experiment): Arm[] {
  switch (e) {
    case 'sharing':
      return [
        { label: 'shared (prod + non-prod)', variants: [base] },
        { label: 'segregated (prod cell + non-prod cell)', variants: [{ ...base, id: 'prod-only', subset: 'prod' }, { ...base, id: 'nonprod-only', subset: 'nonprod' }] },
      ];
    case 'bucketing':
      return [
        { label: 'exact requests', variants: [base] },
        { label: 'bucketed (powers of two from 0.5 core, 1 GiB)', variants: [{ ...base, id: 'bucketed', bucketed: true }] },
      ];
    case 'reclamation':
      return [
        { label: 'non-prod charged reservations', variants: [base] },
        { label: 'non-prod charged limits (no reclamation)', variants: [{ ...base, id: 'limits', accounting: 'limits' }] },
      ];
    case 'policies':
      return (['worst', 'best', 'hybrid'] as const).map((p) => ({ label: `${p} fit`, variants: [p === 'hybrid' ? base : { ...base, id: `policy-${p}`, policy: p }] }));
    case 'cells':
      return [1, 2, 5, 10].map((k) => ({ label: k === 1 ? 'one cell' : `${k} cells`, variants: [k === 1 ? base : { ...base, id: `cells-${k}`, cells: k }] }));
    default:
      throw new InvalidArgument('experiment', `unknown experiment ${String(e)}`);
  }
}

/** bucketUp rounds a request up to the next power of two of `unit` (0.5 core, 1 GiB): 0.6 core -> 1, 3 GiB -> 4. */
export function bucketUp(x: number, unit: number): number {
  assert(unit > 0, 'bucket unit must be positive');
  let b = unit;
  while (b < x) b *= 2;
  return b;
}
export const BUCKET_CPU_MILLIS = 500;
export const BUCKET_RAM_BYTES = GiB;

/** variantTasks applies a variant's subset, accounting and bucketing to the workload (prod is always charged its limit). */
export function variantTasks(tasks: readonly WorkloadTask[], v: Variant, model: ReservationModel): WorkloadTask[] {
  const out: WorkloadTask[] = [];
  for (const t of tasks) {
    const prod = isProd(t.priority);
    if ((v.subset === 'prod' && !prod) || (v.subset === 'nonprod' && prod)) continue;
    let cpu = t.limit.cpuMillis;
    let ram = t.limit.ramBytes;
    // Bucketing rounds what the user asks for; the reservation is then estimated from the rounded limit.
    if (v.bucketed) {
      cpu = bucketUp(cpu, BUCKET_CPU_MILLIS);
      ram = bucketUp(ram, BUCKET_RAM_BYTES);
    }
    if (v.accounting === 'reservations' && !prod) {
      cpu = Math.max(1, Math.ceil(cpu * model.cpuFraction));
      ram = Math.max(1, Math.ceil(ram * model.ramFraction));
    }
    out.push(cpu === t.limit.cpuMillis && ram === t.limit.ramBytes ? t : { ...t, limit: { ...t.limit, cpuMillis: cpu, ramBytes: ram } });
  }
  return out;
}

/** splitByJob deals whole jobs at random into `cells` parts (B15 §5.1 "smaller cells": partition by job). */
export function splitByJob(tasks: readonly WorkloadTask[], cells: number, seed: number): WorkloadTask[][] {
  assert(cells >= 1, 'at least one cell');
  const rng = new SeededRng(seed);
  const partOf = new Map<string, number>();
  const parts: WorkloadTask[][] = Array.from({ length: cells }, () => []);
  for (const t of tasks) {
    const job = `${t.user}/${t.job}`;
    let p = partOf.get(job);
    if (p === undefined) {
      p = rng.int(cells);
      partOf.set(job, p);
    }
    (parts[p] as WorkloadTask[]).push(t);
  }
  return parts;
}

export function parseExperiments(s: string): Experiment[] {
  if (s === 'all') return [...EXPERIMENTS];
  return s.split(',').map((x) => {
    if (!EXPERIMENTS.includes(x as Experiment)) throw new InvalidArgument('--experiments', `unknown experiment ${JSON.stringify(x)}; use all or a list of ${EXPERIMENTS.join(',')}`);
    return x as Experiment;
  });
}
