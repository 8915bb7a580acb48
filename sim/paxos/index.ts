// `npm run sim -- paxos [--seed S | --seeds N [--from F] [--jobs J]] [--fault-ms M] [--heal-ms M] [--replicas R]
// [--quiet] [--failover]`: deterministic Multi-Paxos simulation. Each seed is a whole run with every fault on; a
// failure prints the seed and the command that replays it.
// 100,000 seeds: `npm run sim -- paxos --seeds 100000 --jobs 2 --quiet` (about 40 ms a seed per core).
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Simulation } from '../main';
import { DEFAULT_RUN, runSeed, type RunOptions } from './run';
import { measureFailover } from './failover';

function parse(args: string[]): { seeds: number[]; run: RunOptions; quiet: boolean; failover: boolean; jobs: number; rest: string[] } {
  const run: RunOptions = { ...DEFAULT_RUN };
  let seed: number | undefined;
  let count = 1;
  let from = 1;
  let quiet = false;
  let failover = false;
  let jobs = 1;
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const v = (): number => {
      const s = args[++i];
      const n = Number(s);
      if (s === undefined || !Number.isSafeInteger(n) || n < 0) throw new Error(`${a} needs a non-negative integer, got ${JSON.stringify(s)}`);
      return n;
    };
    switch (a) {
      case '--seed':
        seed = v();
        break;
      case '--seeds':
        count = v();
        break;
      case '--from':
        from = v();
        break;
      case '--fault-ms':
        run.faultMs = v();
        break;
      case '--heal-ms':
        run.healMs = v();
        break;
      case '--replicas':
        run.replicas = v();
        break;
      case '--clients':
        run.clients = v();
        break;
      case '--quiet':
        quiet = true;
        break;
      case '--failover':
        failover = true;
        break;
      case '--jobs':
        jobs = Math.max(1, v());
        continue;
      default:
        throw new Error(`unknown argument ${JSON.stringify(a)}`);
    }
  }
  const seeds = seed !== undefined ? [seed] : Array.from({ length: count }, (_, i) => from + i);
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--jobs') i++;
    else if (args[i] !== '--seeds' && args[i] !== '--from') rest.push(args[i] as string);
    else i++;
  }
  return { seeds, run, quiet, failover, jobs, rest };
}

const simulation: Simulation = {
  summary: 'Multi-Paxos under loss, duplication, reordering, partitions, crash-restart and drift; safety, linearizability, liveness',
  async run(args: string[]): Promise<number> {
    let parsed: ReturnType<typeof parse>;
    try {
      parsed = parse(args);
    } catch (e: unknown) {
      console.error(e instanceof Error ? e.message : String(e));
      return 2;
    }
    const { seeds, run, quiet, failover, jobs, rest } = parsed;
    if (failover) return failoverReport(seeds, run.replicas ?? 3);
    if (jobs > 1 && seeds.length > 1) return runInProcesses(seeds, jobs, rest);
    const started = process.hrtime.bigint();
    let failed = 0;
    let acked = 0;
    for (const seed of seeds) {
      const r = runSeed(seed, run);
      acked += r.stats.writesAcked;
      if (!r.ok) {
        failed++;
        console.log(`FAIL seed ${seed} (replay: npm run sim -- paxos --seed ${seed})`);
        for (const f of r.failures.slice(0, 20)) console.log(`  ${f}`);
      } else if (!quiet || seeds.length === 1) {
        const s = r.stats;
        console.log(`ok   seed ${seed}: ${s.replicas} replicas, ${s.writesAcked} writes acked (${s.writesLost} lost, ${s.writesUnknown} unknown), ${s.reads} lease reads, commit ${s.maxCommit}, ${s.crashes} crashes, ${s.messages} messages`);
      }
    }
    const secs = Number(process.hrtime.bigint() - started) / 1e9;
    console.log(`${seeds.length - failed}/${seeds.length} seeds passed, ${acked} acknowledged writes, ${secs.toFixed(1)} s`);
    return failed === 0 ? 0 : 1;
  },
};

/** runInProcesses splits a seed range over `jobs` child processes (each prints its own failures and summary). */
async function runInProcesses(seeds: number[], jobs: number, rest: string[]): Promise<number> {
  const main = fileURLToPath(new URL('../main.ts', import.meta.url));
  const per = Math.ceil(seeds.length / jobs);
  const codes = await Promise.all(
    Array.from({ length: jobs }, (_, j) => {
      const from = (seeds[0] ?? 1) + j * per;
      const count = Math.min(per, seeds.length - j * per);
      if (count <= 0) return Promise.resolve(0);
      return new Promise<number>((resolve) => {
        const child = spawn(process.execPath, ['--import', 'tsx', main, 'paxos', '--from', String(from), '--seeds', String(count), ...rest], { stdio: 'inherit' });
        child.on('exit', (code) => resolve(code ?? 1));
      });
    }),
  );
  return codes.every((c) => c === 0) ? 0 : 1;
}

/** failoverReport: leader crash -> next acknowledged write, in virtual time, default timing, clean network. */
function failoverReport(seeds: number[], replicas: number): number {
  const samples = seeds.map((s) => measureFailover(s, replicas));
  const ok = samples.filter((x) => x !== undefined);
  const q = (xs: number[], p: number): number => xs[Math.min(xs.length - 1, Math.floor(p * xs.length))] ?? NaN;
  const fo = ok.map((x) => x.failoverMs).sort((a, b) => a - b);
  const el = ok.map((x) => x.electionMs).sort((a, b) => a - b);
  console.log(`failover over ${ok.length}/${seeds.length} seeds, ${replicas} replicas, tick 50 ms, electionTicks 10, heartbeatTicks 2, leaseTicks 8 (virtual time)`);
  console.log(`  new leader:          median ${q(el, 0.5).toFixed(0)} ms, p90 ${q(el, 0.9).toFixed(0)} ms, max ${(el[el.length - 1] ?? NaN).toFixed(0)} ms`);
  console.log(`  next acked write:    median ${q(fo, 0.5).toFixed(0)} ms, p90 ${q(fo, 0.9).toFixed(0)} ms, max ${(fo[fo.length - 1] ?? NaN).toFixed(0)} ms`);
  return ok.length === seeds.length ? 0 : 1;
}

export default simulation;
