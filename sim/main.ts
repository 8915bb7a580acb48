// `npm run sim -- NAME [--seed S] [--seeds N]`: runs sim/NAME/index.ts, whose default export is a Simulation.
// A failing seed printed by a test replays here exactly.
import { readdirSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface Simulation {
  summary: string;
  /** run returns the process exit code (non-zero when a checker failed). */
  run(args: string[]): Promise<number>;
}

const here = fileURLToPath(new URL('.', import.meta.url));
const names = readdirSync(here, { withFileTypes: true })
  .filter((d) => d.isDirectory() && existsSync(`${here}/${d.name}/index.ts`))
  .map((d) => d.name)
  .sort();

async function load(name: string): Promise<Simulation | undefined> {
  // A folder's index.ts may be a library (sim/net) rather than a simulation: only a default export counts.
  return ((await import(`./${name}/index.ts`)) as { default?: Simulation }).default;
}

const [name, ...args] = process.argv.slice(2);
if (!name || name === '--help') {
  const lines: string[] = [];
  for (const n of names) {
    const sim = await load(n);
    if (sim) lines.push(`  ${n.padEnd(12)} ${sim.summary}`);
  }
  console.log(`usage: npm run sim -- NAME [--seed S] [--seeds N]\n\nsimulations:\n${lines.join('\n') || '  (none yet)'}`);
  process.exitCode = name ? 0 : 2;
} else {
  const sim = names.includes(name) ? await load(name) : undefined;
  if (!sim) {
    console.error(`unknown simulation ${JSON.stringify(name)}; simulations: ${names.join(', ') || '(none yet)'}`);
    process.exitCode = 2;
  } else process.exitCode = await sim.run(args);
}
