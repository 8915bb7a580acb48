// `npm run bench -- NAME [options] [--json]`: runs one benchmark. Each benchmark module registers itself here.
// Benchmarks print numbers; they assert nothing (tests do that).
export interface Benchmark {
  summary: string;
  run(args: string[]): Promise<void>;
}

const benchmarks: Record<string, () => Promise<Benchmark>> = {};

const [name, ...args] = process.argv.slice(2);
const list = () => Object.entries(benchmarks).map(([n]) => `  ${n}`).join('\n') || '  (none yet)';
if (!name || name === '--help') {
  console.log(`usage: npm run bench -- NAME [options] [--json]\n\nbenchmarks:\n${list()}`);
  process.exitCode = name ? 0 : 2;
} else {
  const load = benchmarks[name];
  if (!load) {
    console.error(`unknown benchmark ${JSON.stringify(name)}; benchmarks:\n${list()}`);
    process.exitCode = 2;
  } else {
    await (await load()).run(args);
  }
}
