// Which changes of a task's spec need a new run of its process (B15 §2.3: "some task updates (e.g., pushing a new
// binary) will always require the task to be restarted; ... some (e.g., changing priority) can always be done
// without restarting or moving the task"). The restart policy, the health check and the kill grace only steer how
// the Borglet supervises a run, and hard constraints are about where a task may run, which the master checks
// against the task's machine: a running task takes such changes in place. Shared by the master (what a rolling
// update restarts) and the Borglet (what it restarts when a new spec version arrives), which must agree.
import { TaskSpec } from '../proto/gen/borg/v1/types';

/** runBytes: the spec's encoding without the fields a run takes in place. */
function runBytes(s: TaskSpec): Buffer {
  const b = TaskSpec.encode({ ...s, constraints: [], healthCheck: undefined, restartPolicy: undefined, killGraceMs: 0 }).finish();
  return Buffer.from(b.buffer, b.byteOffset, b.length);
}

/** sameRunSpec: one run of a process serves both specs (they differ at most in fields a run takes in place). */
export function sameRunSpec(a: TaskSpec, b: TaskSpec): boolean {
  return a === b || runBytes(a).equals(runBytes(b));
}
