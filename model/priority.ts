// Priority bands (DESIGN.md §3, the 2019 trace numbering) and the preemption rule of B15 §2.5: a task may
// preempt a task of lower priority, except that prod never preempts prod (no preemption cascades).
import { PriorityBand } from '../proto/gen/borg/v1/types';
import { InvalidArgument } from './errors';

export { PriorityBand };

export const PRIORITY_MIN = 0;
export const PRIORITY_MAX = 1000;
export const FREE_MAX = 99;
export const BEST_EFFORT_MIN = 100;
export const BEST_EFFORT_MAX = 115;
export const MID_MIN = 116;
export const MID_MAX = 119;
export const PROD_MIN = 120;
export const PROD_MAX = 359;
export const MONITORING_MIN = 360;

/** NAMED_PRIORITIES are the names BCL and the CLI accept; each maps to the bottom of its band. */
export const NAMED_PRIORITIES: Readonly<Record<string, number>> = Object.freeze({
  free: 0,
  batch: BEST_EFFORT_MIN,
  best_effort: BEST_EFFORT_MIN,
  mid: MID_MIN,
  prod: 200,
  production: 200,
  monitoring: MONITORING_MIN,
});

export function isProd(priority: number): boolean {
  return priority >= PROD_MIN;
}

export function bandOf(priority: number): PriorityBand {
  if (priority <= FREE_MAX) return PriorityBand.FREE;
  if (priority <= BEST_EFFORT_MAX) return PriorityBand.BEST_EFFORT;
  if (priority <= MID_MAX) return PriorityBand.MID;
  if (priority <= PROD_MAX) return PriorityBand.PRODUCTION;
  return PriorityBand.MONITORING;
}

export const BANDS: readonly PriorityBand[] = [
  PriorityBand.FREE,
  PriorityBand.BEST_EFFORT,
  PriorityBand.MID,
  PriorityBand.PRODUCTION,
  PriorityBand.MONITORING,
];

export function bandName(band: PriorityBand): string {
  switch (band) {
    case PriorityBand.FREE:
      return 'free';
    case PriorityBand.BEST_EFFORT:
      return 'batch';
    case PriorityBand.MID:
      return 'mid';
    case PriorityBand.PRODUCTION:
      return 'prod';
    case PriorityBand.MONITORING:
      return 'monitoring';
    case PriorityBand.PRIORITY_BAND_UNSPECIFIED:
      return 'unspecified';
  }
}

/** canPreempt says whether a task at `preemptor` priority may evict one at `victim` priority. */
export function canPreempt(preemptor: number, victim: number): boolean {
  if (preemptor <= victim) return false;
  return !(isProd(preemptor) && isProd(victim));
}

export function validatePriority(p: unknown, field: string): number {
  if (typeof p !== 'number' || !Number.isInteger(p)) throw new InvalidArgument(field, `must be an integer, got ${String(p)}`);
  if (p < PRIORITY_MIN || p > PRIORITY_MAX) throw new InvalidArgument(field, `must be in [${PRIORITY_MIN}, ${PRIORITY_MAX}], got ${p}`);
  return p;
}

/** parsePriority accepts a band name or an integer, as BCL and the CLI do. */
export function parsePriority(s: string, field = 'priority'): number {
  const named = NAMED_PRIORITIES[s];
  if (named !== undefined) return named;
  if (!/^\d+$/.test(s)) {
    throw new InvalidArgument(field, `unknown priority ${JSON.stringify(s)}; use a number or one of ${Object.keys(NAMED_PRIORITIES).join(', ')}`);
  }
  return validatePriority(Number(s), field);
}
