// The machines of a cell's `simulatedMachines` section, generated from the config alone, so the replicas (which
// register them at bootstrap) and the simulated Borglets process (which serves them) agree on every name,
// rack, power domain and address without talking. All simulated machines share one address: the process picks
// the machine by PollRequest.machine, as the link shard names it in every poll.
import type { CellConfig, MachineConfig, SimulatedMachinesConfig } from './config';
import { TASK_PORT_BASE } from './limits';

/** simulatedMachineName is the name of simulated machine i (zero-padded so names sort in index order). */
export function simulatedMachineName(i: number): string {
  return `sim-${String(i).padStart(5, '0')}`;
}

/** simulatedMachineConfigs lists the generated machines of one simulatedMachines section. */
export function simulatedMachineConfigs(sim: SimulatedMachinesConfig): MachineConfig[] {
  const out: MachineConfig[] = [];
  for (let i = 0; i < sim.count; i++) {
    const rack = Math.floor(i / sim.machinesPerRack);
    const power = Math.floor(rack / sim.racksPerPowerDomain);
    out.push({
      name: simulatedMachineName(i),
      address: sim.address,
      capacity: { ...sim.capacity },
      attributes: { ...sim.attributes, simulated: 'true' },
      rack: `sim-rack-${rack}`,
      powerDomain: `sim-power-${power}`,
      // Simulated tasks bind nothing, so every machine may hand out the same port numbers.
      portBase: TASK_PORT_BASE,
    });
  }
  return out;
}

/** allMachines is every machine of the cell: the configured ones, then the simulated ones. */
export function allMachines(config: Pick<CellConfig, 'machines'> & { simulatedMachines?: SimulatedMachinesConfig | undefined }): MachineConfig[] {
  return config.simulatedMachines === undefined ? config.machines : [...config.machines, ...simulatedMachineConfigs(config.simulatedMachines)];
}
