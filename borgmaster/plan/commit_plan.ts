// CommitPlan (Omega's incremental transactions, DESIGN.md §4): the scheduler planned against a cached cell that
// may be stale. Each assignment is re-checked against the master's current state; the ones that still fit go
// into one TaskTransitions command through the log, where apply() checks them once more against the state they
// are actually applied to (another command may have been chosen in between) and commits them one by one. The
// rest come back with reasons, and every pending task's verdict is kept for GetTask.
import { InvalidArgument } from '../../model/errors';
import { validateMachineName } from '../../model/ids';
import { EventType, TaskState, type Command, type CommandResult, type CommitPlanRequest, type CommitPlanResponse, type RejectedAssignment, type TaskTransition } from '../../proto/index';
import { MAX_MESSAGE_TEXT_BYTES, MAX_VICTIMS_PER_ASSIGNMENT, PENDING_QUEUE_MAX, PLAN_MAX_ASSIGNMENTS } from '../../cells/limits';
import { checkPlacement, validateRequestId, validateTaskIdIn, validateText, validateUint, type CellState } from '../state/index';
import type { WhyPendingStore } from './why_pending';

/** ProposeCommand proposes one command body under a request id and resolves with its applied result. */
export type ProposeCommand = (body: NonNullable<Command['body']>, requestId: string) => Promise<CommandResult>;

export const REASON_DUPLICATE_IN_PLAN = 'task assigned twice in one plan';

/** validatePlan checks the shape of every field of a CommitPlanRequest (InvalidArgument naming the field). */
export function validatePlan(req: CommitPlanRequest, cell: string): void {
  validateRequestId(req.requestId);
  validateUint(req.baseLogIndex, 'baseLogIndex', Number.MAX_SAFE_INTEGER);
  if (req.assignments.length > PLAN_MAX_ASSIGNMENTS) throw new InvalidArgument('assignments', `has ${req.assignments.length} entries, more than the limit of ${PLAN_MAX_ASSIGNMENTS}`);
  req.assignments.forEach((a, i) => {
    const f = `assignments[${i}]`;
    validateTaskIdIn(a.taskId, `${f}.taskId`, cell);
    validateMachineName(a.machine, `${f}.machine`);
    validateUint(a.machineGeneration, `${f}.machineGeneration`, Number.MAX_SAFE_INTEGER);
    validateUint(a.specVersion, `${f}.specVersion`, Number.MAX_SAFE_INTEGER);
    if (a.victimTaskIds.length > MAX_VICTIMS_PER_ASSIGNMENT) throw new InvalidArgument(`${f}.victimTaskIds`, `has ${a.victimTaskIds.length} entries, more than the limit of ${MAX_VICTIMS_PER_ASSIGNMENT}`);
    a.victimTaskIds.forEach((v, j) => validateTaskIdIn(v, `${f}.victimTaskIds[${j}]`, cell));
  });
  if (req.pending.length > PENDING_QUEUE_MAX) throw new InvalidArgument('pending', `has ${req.pending.length} entries, more than the limit of ${PENDING_QUEUE_MAX}`);
  req.pending.forEach((p, i) => {
    validateTaskIdIn(p.taskId, `pending[${i}].taskId`, cell);
    validateText(p.why, `pending[${i}].why`, MAX_MESSAGE_TEXT_BYTES, false);
  });
  if (typeof req.passSeconds !== 'number' || !Number.isFinite(req.passSeconds) || req.passSeconds < 0) {
    throw new InvalidArgument('passSeconds', `must be a finite non-negative number, got ${String(req.passSeconds)}`);
  }
}

/**
 * precheckPlan splits a validated plan into the assignments worth proposing and those already refused by the
 * current state. Each is checked on its own; apply() checks the survivors again in order, so two that only fit
 * one at a time are still caught. Time-bound checks (a restart back-off) are against `nowMs`, the time the
 * command will be stamped with about: the state's own clock stands still while nothing is applied, and a quiet
 * cell would refuse a task whose back-off has long ended.
 */
export function precheckPlan(state: CellState, req: CommitPlanRequest, nowMs = state.timeMs): { transitions: TaskTransition[]; rejected: RejectedAssignment[] } {
  const transitions: TaskTransition[] = [];
  const rejected: RejectedAssignment[] = [];
  const seen = new Set<string>();
  for (const a of req.assignments) {
    if (seen.has(a.taskId)) {
      rejected.push({ taskId: a.taskId, reason: REASON_DUPLICATE_IN_PLAN });
      continue;
    }
    seen.add(a.taskId);
    const task = state.lookupTask(a.taskId);
    if (task === undefined) {
      rejected.push({ taskId: a.taskId, reason: 'task not found' });
      continue;
    }
    const verdict = checkPlacement(task, state.machines.get(a.machine), a.specVersion, a.victimTaskIds.map((v) => state.lookupTask(v)), Math.max(nowMs, state.timeMs));
    if (verdict.kind === 'rejected') {
      rejected.push({ taskId: a.taskId, reason: verdict.reason });
      continue;
    }
    transitions.push({ taskId: a.taskId, event: EventType.SCHEDULE, machine: a.machine, specVersion: a.specVersion, victimTaskIds: [...a.victimTaskIds], exitCode: 0, message: '', restarts: 0 });
  }
  return { transitions, rejected };
}

/**
 * commitPlan validates, pre-checks, proposes the survivors as one command and answers which were committed.
 * A retried plan (same request id) gets the remembered answer of the command that went through the log.
 */
export async function commitPlan(state: CellState, whyPending: WhyPendingStore, req: CommitPlanRequest, propose: ProposeCommand, nowMs = state.timeMs): Promise<CommitPlanResponse> {
  validatePlan(req, state.cell);
  for (const p of req.pending) whyPending.set(p.taskId, p.why);
  const { transitions, rejected } = precheckPlan(state, req, nowMs);
  let logIndex = state.appliedIndex;
  const accepted: string[] = [];
  if (transitions.length > 0) {
    const result = await propose({ $case: 'transitions', value: { transitions } }, req.requestId);
    logIndex = result.logIndex;
    accepted.push(...result.acceptedTaskIds);
    rejected.push(...result.rejected);
  }
  for (const id of accepted) whyPending.delete(id);
  // A rejected task that is still pending waits because of this; one that is not pending has nothing to explain.
  for (const r of rejected) {
    if (state.getTaskIfValid(r.taskId)?.state === TaskState.PENDING) whyPending.set(r.taskId, `plan rejected by the master: ${r.reason}`);
  }
  return { logIndex, acceptedTaskIds: accepted, rejected };
}
