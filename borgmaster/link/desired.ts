// The desired state of one machine, as the master sends it on every poll: every task the cell state has RUNNING
// there, with its complete spec. The Borglet makes the machine match it exactly, so a task that is not listed
// (moved away while the machine was unreachable, or killed) is killed there: that is how duplicates die.
import { bnsName } from '../../model/ids';
import { priorityOf, type MachineRec } from '../state/records';
import type { DesiredTask } from '../../proto/index';

export function desiredTasks(machine: MachineRec, cell: string): DesiredTask[] {
  const out: DesiredTask[] = [];
  for (const t of machine.tasks) {
    out.push({
      taskId: t.id,
      specVersion: t.specVersion,
      spec: t.spec,
      priority: priorityOf(t),
      bnsName: bnsName({ cell, user: t.job.user, job: t.job.name, index: t.index }),
      ports: [...t.ports],
    });
  }
  return out;
}
