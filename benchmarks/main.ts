// `npm run bench -- NAME [options] [--json]`: runs benchmarks/NAME/index.ts, whose default export is a
// Benchmark. Benchmarks print numbers (and JSON with --json); they assert nothing (tests do that).
import { readdirSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface Benchmark {
  summary: string;
  run(args: string[]): Promise<void>;
}

const here = fileURLToPath(new URL('.', import.meta.url));
const names = readdirSync(here, { withFileTypes: true })
  .filter((d) => d.isDirectory() && existsSync(`${here}/${d.name}/index.ts`))
  .map((d) => d.name)
  .sort();

async function load(name: string): Promise<Benchmark> {
  return ((await import(`./${name}/index.ts`)) as { default: Benchmark }).default;
}

const [name, ...args] = process.argv.slice(2);
if (!name || name === '--help') {
  const lines = await Promise.all(names.map(async (n) => `  ${n.padEnd(12)} ${(await load(n)).summary}`));
  console.log(`usage: npm run bench -- NAME [options] [--json]\n\nbenchmarks:\n${lines.join('\n') || '  (none yet)'}`);
  process.exitCode = name ? 0 : 2;
} else if (!names.includes(name)) {
  console.error(`unknown benchmark ${JSON.stringify(name)}; benchmarks: ${names.join(', ') || '(none yet)'}`);
  process.exitCode = 2;
} else {
  await (await load(name)).run(args);
}
