// bootstrapCommands turns a cell config (cells/config.ts) into the commands that give a fresh log its machines
// and quotas: machines first, so prod quotas can be checked against the cell's capacity. Each carries a
// deterministic request id, so proposing them again (a leader that crashed mid-bootstrap) has no further effect.
import type { CellConfig, SimulatedMachinesConfig } from '../../cells/config';
import { allMachines } from '../../cells/simulated_machines';
import { Command } from '../../proto/index';

export const BOOTSTRAP_CALLER = 'cell-bootstrap';

export function bootstrapCommands(config: Pick<CellConfig, 'machines' | 'quotas'> & { simulatedMachines?: SimulatedMachinesConfig | undefined }, timeMs: number): Command[] {
  const out: Command[] = [];
  // Simulated machines (cells/simulated_machines.ts) are generated from the config, exactly as sim/borglets does.
  for (const m of allMachines(config)) {
    out.push({
      requestId: `bootstrap/machine/${m.name}`,
      caller: BOOTSTRAP_CALLER,
      timeMs,
      body: {
        $case: 'registerMachine',
        value: {
          machine: {
            name: m.name,
            address: m.address,
            capacity: m.capacity,
            attributes: m.attributes,
            rack: m.rack,
            powerDomain: m.powerDomain,
            state: 0,
            generation: 0,
            allocatedLimit: undefined,
            allocatedReservation: undefined,
            usage: undefined,
            lastPollMs: 0,
            portBase: m.portBase,
          },
        },
      },
    });
  }
  for (const q of config.quotas) {
    out.push({
      requestId: `bootstrap/quota/${q.user}/${q.band}`,
      caller: BOOTSTRAP_CALLER,
      timeMs,
      body: { $case: 'setQuota', value: { user: q.user, band: q.band, limit: q.limit } },
    });
  }
  return out;
}

export function encodeCommand(cmd: Command): Uint8Array {
  return Command.encode(cmd).finish();
}
