// What happens when a task's process ends, pure: restart after an exponential back-off, or stay dead, per the
// task's RestartPolicy. Exit 0 counts as success; a non-zero code, a signal or an OOM kill as failure. The policy
// counts the runs that ended in a row (the streak); a run that lasted the policy's resetAfterMs forgives the ones
// before it, so the back-off and max_restarts start over (as Kubernetes does after 10 minutes of running).
import { EventType } from '../model/task_state';
import { backoffAfter } from '../model/restart';
import type { RestartRule } from './spec';

export interface ExitInfo {
  code: number | null;
  signal: string | null;
  oomKilled: boolean;
}

export type AfterExit = { kind: 'restart'; delayMs: number; event: EventType } | { kind: 'dead'; event: EventType };

export function failed(e: ExitInfo): boolean {
  return e.oomKilled || e.signal !== null || e.code !== 0;
}

/** afterExit decides, given how many runs ended in a row before this one (restarts since the streak began). */
export function afterExit(rule: RestartRule, exit: ExitInfo, restarts: number): AfterExit {
  const event = failed(exit) ? EventType.FAIL : EventType.FINISH;
  const wants = rule.kind === 'always' || (rule.kind === 'on_failure' && failed(exit));
  if (!wants || (rule.maxRestarts > 0 && restarts >= rule.maxRestarts)) return { kind: 'dead', event };
  return { kind: 'restart', delayMs: backoffAfter(rule, restarts + 1), event };
}

/** forgives: a run from startMs to endMs lasted long enough to forgive the failures before it. */
export function forgives(rule: RestartRule, startMs: number, endMs: number): boolean {
  return endMs - startMs >= rule.resetAfterMs;
}
