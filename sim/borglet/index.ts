// `npm run sim -- borglet [--seed S] [--seeds N]`: the Borglet's decision logic on simulated machines
// (borglet/sim_machine.ts). Prints one line per seed; exits non-zero with the failing seed if a checker fails.
import type { Simulation } from '../main';
import { simulateMachine } from '../../borglet/sim_machine';

function flag(args: string[], name: string): number | undefined {
  const i = args.indexOf(`--${name}`);
  if (i < 0) return undefined;
  const v = Number(args[i + 1]);
  if (!Number.isSafeInteger(v) || v < 0) throw new Error(`--${name} must be a non-negative integer`);
  return v;
}

const sim: Simulation = {
  summary: 'Borglet decisions (reclaim, evictions, CPU quotas) on simulated machines; checks their invariants',
  async run(args: string[]): Promise<number> {
    const one = flag(args, 'seed');
    const seeds = one !== undefined ? [one] : Array.from({ length: flag(args, 'seeds') ?? 20 }, (_, i) => i + 1);
    let failed = 0;
    for (const s of seeds) {
      const r = simulateMachine(s);
      const again = simulateMachine(s);
      if (again.hash !== r.hash) r.violations.push('the same seed gave a different trace');
      console.log(`seed ${s}: ${r.arrivals} arrivals, ${r.evictions} evictions (${r.prodEvictions} prod over limit), ${r.throttledTicks} throttled ticks, hash ${r.hash.toString(16)}${r.violations.length ? ` FAILED:\n  ${r.violations.join('\n  ')}` : ''}`);
      if (r.violations.length) failed++;
    }
    if (failed) console.log(`${failed} seed(s) failed; replay with: npm run sim -- borglet --seed S`);
    return failed ? 1 : 0;
  },
};

export default sim;
