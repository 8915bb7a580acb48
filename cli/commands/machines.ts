// `borg machines`: the cell's machines: state, Borglet address, failure domains, and the resources that tasks'
// limits and reservations take out of each machine's capacity.
import { EXIT } from '../registry';
import { InvalidArgument } from '../../model/errors';
import { Machine, MachineState } from '../../proto/index';
import { CELL_FLAGS, HELP_FLAG, age, listMachinesPolled, bytes, cpu, defineCommand, expectPositionals, jsonLines, machineStateName, note, out, table, usedOf, withCell } from '../lib/index';

const flags = {
  ...CELL_FLAGS,
  state: { kind: 'string', value: 'STATE', help: 'only machines in STATE: up, draining or down' },
  ...HELP_FLAG,
} as const;

export function parseMachineState(s: string): MachineState {
  switch (s.toLowerCase()) {
    case 'up':
      return MachineState.UP;
    case 'draining':
      return MachineState.DRAINING;
    case 'down':
      return MachineState.DOWN;
    default:
      throw new InvalidArgument('--state', `${JSON.stringify(s)} is not one of up, draining, down`);
  }
}

defineCommand(
  {
    name: 'machines',
    summary: "list the cell's machines: state, capacity, allocation",
    usage: 'machines [options]',
    description: `Lists the machines of the cell. CPU and RAM show what the running tasks' limits take of the capacity;
RESERVED is what their reservations take (B15 §5.5: non-prod work runs in the difference); USED is what the
machine's Borglet last reported using, at LAST POLL (every replica is asked: each polls its share of the machines).`,
    examples: ['borg machines', 'borg machines --state draining --json'],
    flags,
    async run({ flags: f, positionals }) {
      expectPositionals(positionals, [], 0, 'borg machines [options]');
      const state = f.state === undefined ? MachineState.MACHINE_STATE_UNSPECIFIED : parseMachineState(f.state);
      return withCell(f, async ({ client }) => {
        const machines = (await listMachinesPolled(client, state)).sort((a, b) => a.name.localeCompare(b.name));
        if (f.json) {
          out(jsonLines(machines.map((m) => ({ ...(Machine.toJSON(m) as object), state: machineStateName(m.state) }))));
          return EXIT.ok;
        }
        if (machines.length === 0) {
          note('no machines');
          return EXIT.ok;
        }
        const now = Date.now();
        out(table(machines, [
          { header: 'MACHINE', value: (m) => m.name },
          { header: 'STATE', value: (m) => machineStateName(m.state) },
          { header: 'ADDRESS', value: (m) => m.address },
          { header: 'RACK', value: (m) => m.rack },
          { header: 'CPU', value: (m) => usedOf(m.allocatedLimit?.cpuMillis ?? 0, m.capacity?.cpuMillis ?? 0, cpu), right: true },
          { header: 'RAM', value: (m) => usedOf(m.allocatedLimit?.ramBytes ?? 0, m.capacity?.ramBytes ?? 0, bytes), right: true },
          { header: 'RESERVED CPU', value: (m) => cpu(m.allocatedReservation?.cpuMillis ?? 0), right: true },
          { header: 'RESERVED RAM', value: (m) => bytes(m.allocatedReservation?.ramBytes ?? 0), right: true },
          { header: 'USED CPU', value: (m) => (m.usage === undefined ? '-' : cpu(m.usage.cpuMillis)), right: true },
          { header: 'USED RAM', value: (m) => (m.usage === undefined ? '-' : bytes(m.usage.ramBytes)), right: true },
          { header: 'GEN', value: (m) => m.generation, right: true },
          { header: 'LAST POLL', value: (m) => (m.lastPollMs > 0 ? `${age(m.lastPollMs, now)} ago` : 'never') },
        ]));
        return EXIT.ok;
      });
    },
  },
  true,
);
