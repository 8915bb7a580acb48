// The BCL fuzzer: feeds random inputs (mutated goldens and examples, generated well-formed programs and their
// mutations, spliced files, random token soup, deep nesting) to the
// parser, evaluator, job schema and formatter, and fails on anything but a BclError: a crash, an input that
// takes too long (a hang), runaway memory, or `fmt` output that is not idempotent or changes the meaning.
//
//   node --import tsx bcl/fuzz.ts --runs 100000 [--seed N] [--full-limits]
//
// By default each input runs with maxSteps 200000 (the production bound is 10M steps, which a mutated
// recursive golden can legitimately use, taking seconds); --full-limits uses the production bounds.
import { readFileSync, readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BclError, evaluateSource, format, type Limits } from './index';
import fc from 'fast-check';
import { program } from './gen';
import { SeededRng, type Rng } from '../model/rng';
import { JobSpec } from '../proto/index';

export interface FuzzOptions {
  runs: number;
  seed: number;
  limits?: Partial<Limits>;
  /** maxInputMs: one input taking longer than this counts as a hang. */
  maxInputMs?: number;
  /** maxHeapBytes: heap in use above this after an input counts as runaway memory. */
  maxHeapBytes?: number;
  log?: (line: string) => void;
  /** check sees the JobSpecs of every input that evaluates; whatever it throws is recorded as a failure. */
  check?: (jobs: JobSpec[]) => void;
}

export interface FuzzFailure {
  input: string;
  kind: 'crash' | 'hang' | 'memory' | 'fmt' | 'check';
  detail: string;
}

export interface FuzzReport {
  runs: number;
  parsed: number;
  evaluated: number;
  bclErrors: number;
  slowestMs: number;
  peakHeapBytes: number;
  elapsedMs: number;
  failures: FuzzFailure[];
}

const here = fileURLToPath(new URL('.', import.meta.url));

/** corpus is every .bcl file under bcl/testdata and examples, keyed by file name (imports resolve by name). */
export function loadCorpus(): Map<string, string> {
  const out = new Map<string, string>();
  const dirs = [join(here, 'testdata'), join(here, 'testdata', 'lib'), join(here, '..', 'examples'), join(here, '..', 'examples', 'lib')];
  for (const d of dirs) for (const f of readdirSync(d).filter((x) => x.endsWith('.bcl')).sort()) out.set(f, readFileSync(join(d, f), 'utf8'));
  return out;
}

const TOKENS = [
  'let ', 'job ', 'import ', ' as ', 'if ', ' then ', ' else ', ' for ', ' in ', 'true', 'false', '{', '}', '[', ']', '(', ')',
  ',', '.', ' = ', '==', '!=', '<', '<=', '>', '>=', '+', '-', '*', '/', '%', '!', '&&', '||', '->', '\n', ' ', '"', '"${', '${',
  '}"', '\\', '#', '0', '1', '2.5', '500m', '2GiB', '10s', '1min', 'x', 'f', 'attr("os")', 'exists(', 'range(', 'map(', 'len(',
  'replicas', 'requirements', 'tasks[0]', 'prod', 'port', '(n) -> ', 'f(f(', 'x + x', '9999999999', '1e9', '\u0000', 'é', '\t',
  '"lib/base.bcl"', '"common.bcl"', '"nope.bcl"', 'fail("x")',
];

function mutate(text: string, rng: Rng, corpus: string[]): string {
  let t = text;
  // Mostly one edit, so many inputs still parse and reach the evaluator and the job schema.
  const edits = rng.int(3) === 0 ? 2 + rng.int(3) : 1;
  for (let e = 0; e < edits; e++) {
    const i = rng.int(t.length + 1);
    const j = Math.min(t.length, i + rng.int(16));
    switch (rng.int(6)) {
      case 0: // delete a range
        t = t.slice(0, i) + t.slice(j);
        break;
      case 1: // duplicate a range
        t = t.slice(0, j) + t.slice(i, j) + t.slice(j);
        break;
      case 2: // insert a token
        t = t.slice(0, i) + (TOKENS[rng.int(TOKENS.length)] as string) + t.slice(i);
        break;
      case 3: // replace a character with a random one
        t = t.slice(0, i) + String.fromCharCode(rng.int(128)) + t.slice(i + 1);
        break;
      case 4: {
        // splice in part of another file
        const other = corpus[rng.int(corpus.length)] as string;
        const a = rng.int(other.length + 1);
        t = t.slice(0, i) + other.slice(a, a + rng.int(200)) + t.slice(j);
        break;
      }
      default: // swap two ranges' order
        t = t.slice(i, j) + t.slice(0, i) + t.slice(j);
    }
  }
  return t;
}

function tokenSoup(rng: Rng): string {
  let t = '';
  const n = 1 + rng.int(60);
  for (let i = 0; i < n; i++) t += TOKENS[rng.int(TOKENS.length)] as string;
  return t;
}

/** deepNest makes inputs aimed at the depth bounds (parentheses, lists, interpolations, chains). */
function deepNest(rng: Rng): string {
  const n = 1 + rng.int(2000);
  switch (rng.int(6)) {
    case 0:
      return `let x = ${'('.repeat(n)}1${')'.repeat(n)}`;
    case 4: {
      // Values nested through a chain of lets, each shallow on its own.
      let t = 'let a0 = { v = [0] }\n';
      for (let i = 1; i < n; i++) t += `let a${i} = ${i % 2 ? `[a${i - 1}]` : `{ v = a${i - 1} }`}\n`;
      return `${t}let eq = a${n - 1} == a${n - 1}\njob j = { user = "u", priority = 0, command = "x", requirements = { cpu = 1, ram = 8MiB }, env = a${n - 1} }\n`;
    }
    case 1:
      return `let x = ${'['.repeat(n)}${']'.repeat(n)}`;
    case 2:
      return `let x = ${'"${'.repeat(Math.min(n, 100))}1${'}"'.repeat(Math.min(n, 100))}`;
    case 3:
      return `let x = 1${' + 1'.repeat(n * 10)}`;
    default:
      return `let x = ${'-'.repeat(n)}1\nlet y = { a = 1 }${'.a'.repeat(n)}`;
  }
}

type Outcome = { ok: true; json: string; jobs: JobSpec[] } | { ok: false; problem: string };

function evaluate(text: string, readFile: (p: string) => string, limits: Partial<Limits> | undefined): Outcome {
  try {
    const r = evaluateSource(text, 'fuzz.bcl', { readFile, limits, user: 'fuzz' });
    return { ok: true, json: JSON.stringify(r.jobs.map((j) => JobSpec.toJSON(j))), jobs: r.jobs };
  } catch (e: unknown) {
    if (e instanceof BclError) return { ok: false, problem: e.problem };
    throw e;
  }
}

/** runFuzz runs `runs` inputs from `seed` and reports; it never throws for a bad input, it records a failure. */
export function runFuzz(o: FuzzOptions): FuzzReport {
  const rng = new SeededRng(o.seed);
  const files = loadCorpus();
  const corpus = [...files.values()];
  // Well-formed programs from the property tests' generator reach deeper into the evaluator than mutations do.
  const generated = fc.sample(program, { numRuns: Math.max(1, Math.min(2_000, Math.ceil(o.runs / 10))), seed: o.seed });
  const readFile = (p: string): string => {
    const t = files.get(basename(p));
    if (t === undefined) throw Object.assign(new Error(`ENOENT: ${p}`), { code: 'ENOENT' });
    return t;
  };
  const limits = o.limits ?? { maxSteps: 200_000 };
  const maxInputMs = o.maxInputMs ?? 5_000;
  const maxHeapBytes = o.maxHeapBytes ?? 1024 * 1024 * 1024;
  const report: FuzzReport = { runs: 0, parsed: 0, evaluated: 0, bclErrors: 0, slowestMs: 0, peakHeapBytes: 0, elapsedMs: 0, failures: [] };
  const started = performance.now();
  for (let run = 0; run < o.runs; run++) {
    const kind = rng.int(10);
    const gen = generated[rng.int(generated.length)] as string;
    const input =
      kind < 5
        ? mutate(corpus[rng.int(corpus.length)] as string, rng, corpus)
        : kind === 5
          ? gen
          : kind === 6
            ? mutate(gen, rng, corpus)
            : kind < 9
              ? tokenSoup(rng)
              : deepNest(rng);
    const t0 = performance.now();
    try {
      const before = evaluate(input, readFile, limits);
      if (before.ok) {
        report.evaluated++;
        if (o.check) {
          try {
            o.check(before.jobs);
          } catch (e: unknown) {
            report.failures.push({ input, kind: 'check', detail: e instanceof Error ? e.message : String(e) });
          }
        }
      } else report.bclErrors++;
      let formatted: string | undefined;
      try {
        formatted = format(input, 'fuzz.bcl');
        report.parsed++;
      } catch (e: unknown) {
        if (!(e instanceof BclError)) throw e;
      }
      if (formatted !== undefined) {
        const again = format(formatted, 'fuzz.bcl');
        if (again !== formatted) report.failures.push({ input, kind: 'fmt', detail: 'formatting the output again changed it' });
        const after = evaluate(formatted, readFile, limits);
        // Steps differ a little after formatting (parentheses are kept, so they should not): compare outcomes,
        // except that a budget error may land on a different expression.
        const budget = (x: Outcome): boolean => !x.ok && /more than \d+ (steps|levels)/.test(x.problem);
        const same = before.ok && after.ok ? before.json === after.json : JSON.stringify(before) === JSON.stringify(after);
        if (!(budget(before) && budget(after)) && !same) {
          report.failures.push({ input, kind: 'fmt', detail: `meaning changed: ${JSON.stringify(before).slice(0, 200)} vs ${JSON.stringify(after).slice(0, 200)}` });
        }
      }
    } catch (e: unknown) {
      const detail = e instanceof Error ? `${e.name}: ${e.message}\n${e.stack ?? ''}` : String(e);
      report.failures.push({ input, kind: 'crash', detail });
    }
    const ms = performance.now() - t0;
    report.slowestMs = Math.max(report.slowestMs, ms);
    if (ms > maxInputMs) report.failures.push({ input, kind: 'hang', detail: `took ${ms.toFixed(0)} ms` });
    if (run % 256 === 0) {
      const heap = process.memoryUsage().heapUsed;
      report.peakHeapBytes = Math.max(report.peakHeapBytes, heap);
      if (heap > maxHeapBytes) report.failures.push({ input, kind: 'memory', detail: `heap ${heap} bytes` });
    }
    report.runs++;
    if (o.log && (run + 1) % 10_000 === 0) o.log(`${run + 1} inputs, ${report.failures.length} failures, slowest ${report.slowestMs.toFixed(0)} ms`);
    if (report.failures.length >= 20) break;
  }
  report.elapsedMs = performance.now() - started;
  return report;
}

function main(argv: string[]): number {
  const arg = (name: string): string | undefined => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const runs = Number(arg('--runs') ?? 100_000);
  const seed = Number(arg('--seed') ?? 1);
  if (!Number.isSafeInteger(runs) || runs < 1 || !Number.isSafeInteger(seed)) {
    console.error('usage: node --import tsx bcl/fuzz.ts [--runs N] [--seed N] [--full-limits]');
    return 2;
  }
  const r = runFuzz({ runs, seed, limits: argv.includes('--full-limits') ? {} : undefined, log: (l) => console.error(l) });
  console.log(`runs ${r.runs}  parsed ${r.parsed}  evaluated ${r.evaluated}  bcl errors ${r.bclErrors}`);
  console.log(`elapsed ${(r.elapsedMs / 1000).toFixed(1)} s  slowest input ${r.slowestMs.toFixed(0)} ms  peak heap ${(r.peakHeapBytes / 2 ** 20).toFixed(0)} MiB`);
  for (const f of r.failures) console.log(`\n--- ${f.kind}: ${f.detail}\ninput: ${JSON.stringify(f.input)}`);
  console.log(r.failures.length === 0 ? 'no failures' : `${r.failures.length} failures (seed ${seed})`);
  return r.failures.length === 0 ? 0 : 1;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) process.exitCode = main(process.argv.slice(2));
