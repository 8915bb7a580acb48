// Simulated Borglets: many machines per process on the real Borglet protocol (see sim_borglets.ts).
export { SimBorglets, SIM_DURATION_ENV, SIM_EXIT_CODE_ENV, type SimCounters, type PollIntervalStats } from './sim_borglets';
export { serveSimBorglets } from './server';
export { simulatedMachineConfigs, simulatedMachineName, allMachines } from '../../cells/simulated_machines';
export { checkSeed } from './check';

import type { Simulation } from '../main';
import { checkSeed } from './check';

const simulation: Simulation = {
  summary: 'simulated Borglets against random masters: ballots obeyed, desired state matched (seeded)',
  async run(args) {
    const at = (n: string) => (args.indexOf(n) >= 0 ? Number(args[args.indexOf(n) + 1]) : undefined);
    const first = at('--seed') ?? 1;
    const seeds = at('--seeds') ?? 1;
    for (let s = first; s < first + seeds; s++) {
      const broken = checkSeed(s);
      if (broken !== undefined) {
        console.log(`FAIL ${broken}\nreplay: npm run sim -- borglets --seed ${s}`);
        return 1;
      }
    }
    console.log(`ok: ${seeds} seed(s) from ${first}`);
    return 0;
  },
};
export default simulation;
