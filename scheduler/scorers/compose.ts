// Composes the scorers into one machine score for a cell's policy (cells/config.ts SchedulerConfig.policy):
//   score = fit(policy) + SPREADING_WEIGHT * spreading + MIXING_WEIGHT * mixing - preemptionCost
// Each term is its own scorer file; the policy only chooses the fit term. Weights are constants here so that a
// change of policy is one line of config and a change of weighting is one reviewed line of code.
import { unreachable } from '../../model/assert';
import type { FitPolicy } from '../../cells/config';
import type { CellSnapshot } from '../snapshot';
import type { TaskClass } from '../task_class';
import { bestFit } from './best';
import { hybridFit } from './hybrid';
import { prodMixing } from './mixing';
import { domainSpreading } from './spreading';
import { worstFit } from './worst';

export const POLICY_WORST = 0;
export const POLICY_BEST = 1;
export const POLICY_HYBRID = 2;

/** SPREADING_WEIGHT keeps a job's tasks apart without overriding the fit policy. */
export const SPREADING_WEIGHT = 0.1;
/** MIXING_WEIGHT is a tie-breaker: it should steer among near-equal fits, not against them. */
export const MIXING_WEIGHT = 0.05;

export function policyCode(p: FitPolicy): number {
  switch (p) {
    case 'worst':
      return POLICY_WORST;
    case 'best':
      return POLICY_BEST;
    case 'hybrid':
      return POLICY_HYBRID;
    default:
      return unreachable(p, 'fit policy');
  }
}

/**
 * scoreMachine is the composed score of slot m for class c (before any preemption cost). `ramPerCpu` is the
 * workload shape the hybrid scorer balances against; `onMachine` (tasks of the class's job on m) may be passed by
 * a caller that counted them already (the spread filter).
 */
export function scoreMachine(snap: CellSnapshot, c: TaskClass, m: number, policy: number, ramPerCpu: number, onMachine = snap.jobTasksOn(c.job, m)): number {
  return fitScore(snap, c, m, policy, ramPerCpu) + SPREADING_WEIGHT * domainSpreading(snap, c, m, onMachine) + MIXING_WEIGHT * prodMixing(snap, c, m);
}

/** fitScore is the policy's fit term alone: the bulk of the score, from the machine's own numbers (no lookups). */
export function fitScore(snap: CellSnapshot, c: TaskClass, m: number, policy: number, ramPerCpu: number): number {
  if (policy === POLICY_HYBRID) return hybridFit(snap, c, m, ramPerCpu);
  if (policy === POLICY_BEST) return bestFit(snap, c, m);
  return worstFit(snap, c, m);
}
