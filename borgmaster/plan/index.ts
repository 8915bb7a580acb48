// Plan checking (DESIGN.md §4): the scheduler's plans re-checked against the master's state and committed through
// the log as one command; rejected assignments come back with reasons; why-pending verdicts are kept for GetTask.
export { commitPlan, precheckPlan, validatePlan, REASON_DUPLICATE_IN_PLAN, type ProposeCommand } from './commit_plan';
export { WhyPendingStore } from './why_pending';
export { planDrainEvictions, drainProgress, maxDownOf, DRAIN_EVICT_MESSAGE_PREFIX, type DrainProgress } from './drain';
