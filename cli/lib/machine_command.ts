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
          ? `Marks MACHINE DRAINING: its running tasks keep running, and the scheduler places no new task there. Needs the
admin role (e.g. --user admin on a local cell). A DOWN machine cannot be drained.`
          : `Marks a DRAINING machine UP again, so the scheduler may place tasks on it. Needs the admin role.`,
      examples: [`borg ${op} local-a --user admin`],
      flags: { ...CELL_FLAGS, ...HELP_FLAG },
      async run({ flags: f, positionals }) {
        const [arg] = expectPositionals(positionals, ['MACHINE'], 0, `borg ${op} MACHINE`);
        const name = validateMachineName(arg, 'MACHINE');
        return withCell(f, async ({ client }) => {
          const m = await getMachine(client, name);
          const body = { requestId: machineRequestId(op, name, m.generation), machine: name };
          const res = op === 'drain' ? await client.write(RPCS.drainMachine, body) : await client.write(RPCS.undrainMachine, body);
          if (f.json) out(json({ machine: name, state: machineStateName(to), logIndex: res.logIndex }));
          else out(`machine ${name} is ${machineStateName(to)} (was ${machineStateName(m.state)}) at log index ${res.logIndex}`);
          return EXIT.ok;
        });
      },
    },
    true,
  );
}
