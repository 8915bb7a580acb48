// `npm run bench -- bcl`: how fast BCL evaluates and formats, and what its bounds cost at worst: the examples,
// raw evaluation speed (steps/s), the time an input takes to hit BCL_MAX_STEPS (the most any file can cost the
// CLI or the master), a job with many per-task overrides, and formatting a file near BCL_MAX_SOURCE_BYTES.
//
//   npm run bench -- bcl [--repeat 5] [--json]
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Benchmark } from '../main';
import { BclError, Evaluator, evaluateFile, evaluateSource, format, readSourceFile } from '../../bcl/index';
import { BCL_MAX_SOURCE_BYTES, BCL_MAX_STEPS } from '../../cells/limits';

const root = fileURLToPath(new URL('../..', import.meta.url));

interface Row {
  case: string;
  ms: number;
  detail: string;
}

function best(repeat: number, f: () => string): { ms: number; detail: string } {
  let ms = Infinity;
  let detail = '';
  for (let i = 0; i < repeat; i++) {
    const t0 = performance.now();
    detail = f();
    ms = Math.min(ms, performance.now() - t0);
  }
  return { ms, detail };
}

const bench: Benchmark = {
  summary: 'BCL evaluation and formatting speed, and the worst-case cost of its bounds',
  async run(args) {
    const { values } = parseArgs({ args, options: { repeat: { type: 'string', default: '5' }, json: { type: 'boolean', default: false } } });
    const repeat = Math.max(1, Number(values.repeat));
    const rows: Row[] = [];

    for (const f of ['web.bcl', 'batch.bcl', 'lambdas.bcl']) {
      const r = best(repeat, () => `${evaluateFile(join(root, 'examples', f)).jobs.length} jobs`);
      rows.push({ case: `eval examples/${f}`, ...r });
    }

    const fib = 'let fib = (n) -> if n < 2 then n else fib(n - 1) + fib(n - 2)\nlet x = fib(22)\n';
    rows.push({
      case: 'eval fib(22)',
      ...best(repeat, () => {
        const ev = new Evaluator({ readFile: readSourceFile });
        const t0 = performance.now();
        ev.evalFile({ file: 'fib.bcl', text: fib }, join(root, 'fib.bcl'));
        const s = ev.stepsUsed();
        return `${s} steps, ${((s / (performance.now() - t0)) * 1000 / 1e6).toFixed(1)} M steps/s`;
      }),
    });

    // 2^60 calls if it were allowed to finish: only the step bound stops it.
    const runaway = 'let f = (n) -> if n > 60 then 0 else f(n + 1) + f(n + 1)\nlet x = f(0)\n';
    rows.push({
      case: `runaway to BCL_MAX_STEPS (${BCL_MAX_STEPS})`,
      ...best(Math.min(repeat, 3), () => {
        try {
          evaluateSource(runaway, 'runaway.bcl');
          return 'finished?';
        } catch (e: unknown) {
          return e instanceof BclError ? e.problem : String(e);
        }
      }),
    });

    const overrides = Array.from({ length: 1000 }, (_, i) => `  tasks[${i}] = { args = ["shard-${i}"] }`).join('\n');
    const many = `job many = {\n  user = "u"\n  priority = batch\n  replicas = 1000\n  command = "/bin/true"\n  env = { A = "1", B = "2" }\n  requirements = { cpu = 10m, ram = 8MiB }\n${overrides}\n}\n`;
    rows.push({ case: 'eval a job with 1000 overrides', ...best(repeat, () => `${evaluateSource(many, 'many.bcl').jobs[0]?.overrides.length} complete task specs`) });

    const one = readSourceFile(join(root, 'bcl', 'testdata', 'job_fields.bcl')).replace('job everything', 'job j__');
    let big = '';
    for (let i = 0; big.length + one.length < BCL_MAX_SOURCE_BYTES * 0.9; i++) big += one.replace('j__', `j${i}`) + '\n';
    rows.push({ case: `fmt ${(big.length / 1024).toFixed(0)} KiB`, ...best(repeat, () => `${format(big, 'big.bcl').length} bytes out`) });
    rows.push({ case: `eval ${(big.length / 1024).toFixed(0)} KiB`, ...best(repeat, () => `${evaluateSource(big, 'big.bcl').jobs.length} jobs`) });

    if (values.json) {
      console.log(JSON.stringify({ benchmark: 'bcl', repeat, rows }, null, 2));
      return;
    }
    const w = Math.max(...rows.map((r) => r.case.length));
    console.log(`${'case'.padEnd(w)}  ${'best ms'.padStart(9)}  detail`);
    for (const r of rows) console.log(`${r.case.padEnd(w)}  ${r.ms.toFixed(1).padStart(9)}  ${r.detail}`);
  },
};

export default bench;
