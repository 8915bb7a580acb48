// `npm run sim -- NAME [--seed S] [--seeds N]`: runs a deterministic simulation. A failing seed printed by a
// test replays here exactly.
export interface Simulation {
  summary: string;
  run(args: string[]): Promise<number>;
}

const simulations: Record<string, () => Promise<Simulation>> = {};

const [name, ...args] = process.argv.slice(2);
const list = () => Object.keys(simulations).map((n) => `  ${n}`).join('\n') || '  (none yet)';
if (!name || name === '--help') {
  console.log(`usage: npm run sim -- NAME [--seed S] [--seeds N]\n\nsimulations:\n${list()}`);
  process.exitCode = name ? 0 : 2;
} else {
  const load = simulations[name];
  if (!load) {
    console.error(`unknown simulation ${JSON.stringify(name)}; simulations:\n${list()}`);
    process.exitCode = 2;
  } else {
    process.exitCode = await (await load()).run(args);
  }
}
