// `npm run bench -- host [--gap MS] [--rounds N] [--json]`: how steady this host runs a fixed, memory-bound piece
// of work, to read the other benchmarks' times against (the scheduler's online passes above all). The work is the
// same on every host and every run: WORK_STEPS random reads over 48 MiB of typed arrays, each with a lookup in a
// 200,000-entry Map, about what a scheduling pass does per decision. It is timed three ways, interleaved in rounds:
// back to back; after sleeping MS (default 500, the scheduler process's pass interval), as a pass that follows the
// daemon's wait; and after busy-waiting MS without touching the work's data. Back to back against the other two
// tells what leaving the data untouched costs here, idle or busy (on a shared host the caches and TLB serve other
// tenants meanwhile); the spread of each tells how much the host alone moves a time that should not move.
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import type { Benchmark } from '../main';
import { percentile } from '../stats';
import { sleepSync } from '../../borglet/cgroups/fsutil';

const WORK_STEPS = 40_000;
const ARRAY_SLOTS = 1 << 22; // 32 MiB of Float64 + 16 MiB of Int32
const MAP_ENTRIES = 200_000;
const PER_ROUND = 10;

interface Data {
  values: Float64Array;
  index: Int32Array;
  map: Map<number, { weight: number; priority: number }>;
  keys: number[];
}

function makeData(): Data {
  const values = new Float64Array(ARRAY_SLOTS);
  const index = new Int32Array(ARRAY_SLOTS);
  for (let i = 0; i < ARRAY_SLOTS; i++) {
    values[i] = i % 97;
    index[i] = (i * 7919) % ARRAY_SLOTS;
  }
  const map = new Map<number, { weight: number; priority: number }>();
  for (let i = 0; i < MAP_ENTRIES; i++) map.set((i * 2654435761) % 1e9, { weight: i / 2, priority: i % 13 });
  return { values, index, map, keys: [...map.keys()] };
}

/** work is the fixed piece of work: a seeded walk of dependent random reads (and a few writes). */
function work(d: Data, steps: number): number {
  let x = 12345;
  let acc = 0;
  for (let k = 0; k < steps; k++) {
    x = (Math.imul(x, 1103515245) + 12345) | 0;
    const i = (x >>> 10) & (ARRAY_SLOTS - 1);
    acc += (d.values[d.index[i] as number] as number) * 1.0001;
    const o = d.map.get(d.keys[(x >>> 7) % d.keys.length] as number);
    if (o !== undefined) acc += o.weight + o.priority;
    if ((k & 7) === 0) d.values[i] = acc * 1e-12;
  }
  return acc;
}

function timed(d: Data): number {
  const t0 = performance.now();
  work(d, WORK_STEPS);
  return performance.now() - t0;
}

function spin(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

interface Summary {
  samples: number;
  p50Ms: number;
  p90Ms: number;
  maxMs: number;
  minMs: number;
}

function summary(v: readonly number[]): Summary {
  return { samples: v.length, p50Ms: percentile(v, 50), p90Ms: percentile(v, 90), maxMs: Math.max(...v), minMs: Math.min(...v) };
}

const bench: Benchmark = {
  summary: "this host's own steadiness: a fixed memory-bound piece of work back to back, after a sleep, after a busy wait",
  async run(args) {
    const { values } = parseArgs({ args, options: { gap: { type: 'string', default: '500' }, rounds: { type: 'string', default: '4' }, json: { type: 'boolean', default: false } } });
    const gap = Number(values.gap);
    const rounds = Number(values.rounds);
    if (!Number.isInteger(gap) || gap < 1 || gap > 60_000) throw new Error(`--gap must be an integer number of milliseconds in [1, 60000], not ${values.gap}`);
    if (!Number.isInteger(rounds) || rounds < 1 || rounds > 1000) throw new Error(`--rounds must be an integer in [1, 1000], not ${values.rounds}`);

    const d = makeData();
    for (let i = 0; i < 5; i++) work(d, WORK_STEPS); // optimized, and the data touched, before anything is timed
    const b2b: number[] = [];
    const slept: number[] = [];
    const spun: number[] = [];
    for (let r = 0; r < rounds; r++) {
      work(d, WORK_STEPS); // untimed: the block's first repetition would follow the last block's wait
      for (let i = 0; i < PER_ROUND; i++) b2b.push(timed(d));
      for (let i = 0; i < PER_ROUND; i++) {
        sleepSync(gap);
        slept.push(timed(d));
      }
      for (let i = 0; i < PER_ROUND; i++) {
        spin(gap);
        spun.push(timed(d));
      }
    }
    const result = { workSteps: WORK_STEPS, gapMs: gap, rounds, backToBack: summary(b2b), afterSleep: summary(slept), afterBusyWait: summary(spun) };
    if (values.json) {
      console.log(JSON.stringify(result, null, 2));
      return;
    }
    const base = result.backToBack.p50Ms;
    const line = (name: string, s: Summary): string =>
      `${name.padEnd(30)} p50 ${s.p50Ms.toFixed(2).padStart(6)} ms (${(s.p50Ms / base).toFixed(2)}x)  p90 ${s.p90Ms.toFixed(2).padStart(6)}  min ${s.minMs.toFixed(2).padStart(6)}  max ${s.maxMs.toFixed(2).padStart(6)} ms`;
    console.log(`fixed work: ${WORK_STEPS} random reads over 48 MiB of typed arrays, each with a lookup in a ${MAP_ENTRIES}-entry Map; ${rounds} rounds of ${PER_ROUND} x 3, interleaved`);
    console.log(line('back to back', result.backToBack));
    console.log(line(`after sleeping ${gap} ms`, result.afterSleep));
    console.log(line(`after busy-waiting ${gap} ms`, result.afterBusyWait));
    console.log('note: the same work every time; any spread is the host (caches, TLB, the core shared with other tenants)');
  },
};

export default bench;
