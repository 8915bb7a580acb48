// Which changes of a task's spec need a new run of its process (B15 §2.3: "some task updates (e.g., pushing a new
// binary) will always require the task to be restarted; some (e.g., increasing resource requirements or changing
// constraints) might make the task no longer fit on the machine, and cause it to be stopped and rescheduled; and
// some (e.g., changing priority) can always be done without restarting or moving the task"). A run takes in place:
// how the Borglet supervises it (restart policy, health check, kill grace), its cgroup's limits (cpu, ram, disk,
// latency sensitivity; not the number of ports, which are assigned at placement), and where it may run
// (constraints). The master also checks that the task's machine still meets the constraints and fits the new
// limits. Shared by the master (what a rolling update restarts) and the Borglet (what it restarts when a new spec
// version arrives), which must agree.
import { TaskSpec } from '../proto/gen/borg/v1/types';

/** runBytes: the spec's encoding without the fields a run takes in place. */
function runBytes(s: TaskSpec): Buffer {
  const requirements = { cpuMillis: 0, ramBytes: 0, diskBytes: 0, ports: s.requirements?.ports ?? 0 };
  const b = TaskSpec.encode({ ...s, requirements, constraints: [], healthCheck: undefined, restartPolicy: undefined, killGraceMs: 0, latencySensitive: false }).finish();
  return Buffer.from(b.buffer, b.byteOffset, b.length);
}

/** sameRunSpec: one run of a process serves both specs (they differ at most in fields a run takes in place). */
export function sameRunSpec(a: TaskSpec, b: TaskSpec): boolean {
  return a === b || runBytes(a).equals(runBytes(b));
}
