// Scorer: the cost of the preemptions a placement needs (B15 §3.2: "minimize the number and priority of the
// preempted tasks"). The base is larger than any other score can make up, so a machine that fits without
// evictions always wins over one that needs them; among those that need them, fewer and lower victims win.
import { PRIORITY_MAX } from '../../model/priority';

export const PREEMPTION_BASE_COST = 4;
export const PREEMPTION_COST_PER_VICTIM = 0.25;

/** preemptionCost returns the penalty (>= 0) to subtract from a machine's score; 0 when no victim is needed. */
export function preemptionCost(victims: number, victimPrioritySum: number): number {
  if (victims === 0) return 0;
  return PREEMPTION_BASE_COST + PREEMPTION_COST_PER_VICTIM * victims + victimPrioritySum / PRIORITY_MAX;
}

/**
 * preemptionCostFloor is the least preemptionCost of any eviction from a machine whose lowest non-prod priority is
 * `lowestNonProd`: at least one victim, and every victim is non-prod (prod never preempts prod), so at or above it.
 * The scheduler scores a machine that needs evictions with it until the machine could win, and searches the
 * victims only then.
 */
export function preemptionCostFloor(lowestNonProd: number): number {
  return preemptionCost(1, lowestNonProd);
}
