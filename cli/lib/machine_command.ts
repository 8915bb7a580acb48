// `borg drain` and `borg undrain` share everything but the direction: an admin-only change of a machine's state
// (DRAINING: the scheduler places nothing new there; UP: back in service), with a request id naming the
// machine's generation, so a retried command is applied once.
import { EXIT } from '../registry';
import { validateMachineName } from '../../model/ids';
import { MachineState } from '../../proto/index';
import { RPCS } from './client';
import { CELL_FLAGS, HELP_FLAG, defineCommand, out, withCell } from './command';
import { expectPositionals } from './flags';
import { json, machineStateName } from './output';
import { LIST_PAGE_SIZE_MAX } from '../../cells/limits';
import { TaskState } from '../../proto/index';
import type { CellClient } from './client';

/** tasksOn counts the tasks the master has RUNNING on a machine (at most MAX_TASKS_PER_MACHINE: one page). */
async function tasksOn(client: CellClient, machine: string): Promise<number> {
  const r = await client.read(RPCS.listTasks, { user: '', job: '', machine, state: TaskState.RUNNING, pageSize: LIST_PAGE_SIZE_MAX, pageToken: '' });
  return r.tasks.length;
}

/** DRAIN_PROGRESS_MS: how often `borg drain --wait` reports what is left. */
const DRAIN_PROGRESS_MS = 1000;
import { getMachine } from './reads';
import { machineRequestId } from './request_ids';

export function defineMachineCommand(op: 'drain' | 'undrain'): void {
  const to = op === 'drain' ? MachineState.DRAINING : MachineState.UP;
  defineCommand(
    {
      name: op,
      summary: op === 'drain' ? 'drain a machine: the scheduler places nothing new on it (admin)' : 'put a drained machine back in service (admin)',
      usage: `${op} MACHINE [options]`,
      description:
        op === 'drain'
          ? `Marks MACHINE DRAINING: the scheduler places no new task there, and the master moves the running tasks
off it, evicting them at the cell's rescheduling rate (link.rescheduleTasksPerSecond) and never more of one job
at once than its update policy's max_tasks_down; the scheduler places them elsewhere. Prints how many tasks are
still on the machine; with --wait, reports every second until it is empty. Needs the admin role (e.g. --user
admin on a local cell). A DOWN machine cannot be drained.`
          : `Marks a DRAINING machine UP again, so the scheduler may place tasks on it. Needs the admin role.`,
      examples: [`borg ${op} local-a --user admin`],
      flags: op === 'drain' ? { ...CELL_FLAGS, ...HELP_FLAG, wait: { kind: 'boolean', help: 'report progress until the machine is empty' } } : { ...CELL_FLAGS, ...HELP_FLAG },
      async run({ flags: f, positionals }) {
        const [arg] = expectPositionals(positionals, ['MACHINE'], 0, `borg ${op} MACHINE`);
        const name = validateMachineName(arg, 'MACHINE');
        return withCell(f, async ({ client }) => {
          const m = await getMachine(client, name);
          const body = { requestId: machineRequestId(op, name, m.generation), machine: name };
          const res = op === 'drain' ? await client.write(RPCS.drainMachine, body) : await client.write(RPCS.undrainMachine, body);
          if (op === 'undrain') {
            if (f.json) out(json({ machine: name, state: machineStateName(to), logIndex: res.logIndex }));
            else out(`machine ${name} is ${machineStateName(to)} (was ${machineStateName(m.state)}) at log index ${res.logIndex}`);
            return EXIT.ok;
          }
          let left = await tasksOn(client, name);
          if (f.json && !('wait' in f && f.wait === true)) {
            out(json({ machine: name, state: machineStateName(to), logIndex: res.logIndex, tasksLeft: left }));
            return EXIT.ok;
          }
          if (!f.json) out(`machine ${name} is ${machineStateName(to)} (was ${machineStateName(m.state)}) at log index ${res.logIndex}; ${left} task(s) still on it`);
          const started = Date.now();
          while ('wait' in f && f.wait === true && left > 0) {
            await new Promise((r) => setTimeout(r, DRAIN_PROGRESS_MS));
            left = await tasksOn(client, name);
            if (!f.json) out(`  ${left} task(s) left on ${name} after ${((Date.now() - started) / 1000).toFixed(0)} s`);
          }
          if (f.json) out(json({ machine: name, state: machineStateName(to), logIndex: res.logIndex, tasksLeft: left }));
          else if ('wait' in f && f.wait === true) out(`machine ${name} is empty`);
          return EXIT.ok;
        });
      },
    },
    true,
  );
}
