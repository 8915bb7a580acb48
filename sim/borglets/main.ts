// The simulated Borglets daemon: `node --import tsx sim/borglets/main.ts --cell FILE [--machines N] [--seed S]`
// serves every machine of the cell's `simulatedMachines` section (or only the first N) on its one address, with
// mutual TLS under the identity borglet-simulated (cells/identity.ts; `borg up` or the test issues it). Prints
// `simulated borglets of cell C: N machines listening on ADDR` when ready. Reads commands on stdin, one a line,
// for tests and benchmarks: `partition MACHINE`, `heal MACHINE`, `counters` (answers `counters {json}`),
// `tasks MACHINE` (answers `tasks MACHINE {json}`), `ballot MACHINE` (answers `ballot MACHINE {json}`),
// `intervals` (poll intervals since the last `intervals`: `intervals {json}`). SIGTERM/SIGINT stop it.
import { createInterface } from 'node:readline';
import { loadCellConfig } from '../../cells/config';
import { SIM_BORGLETS_NAME, loadIdentity } from '../../cells/identity';
import { simulatedMachineConfigs } from '../../cells/simulated_machines';
import { peerIdentity, serverCredentials } from '../../cells/security/index';
import { BorgError, InvalidArgument, PermissionDenied } from '../../model/errors';
import { systemClock } from '../../model/clock';
import { SeededRng } from '../../model/rng';
import { SimBorglets } from './sim_borglets';
import { serveSimBorglets } from './server';

const USAGE = 'usage: sim-borglets --cell FILE [--machines N] [--seed S]';

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

function count(v: string | undefined, field: string, fallback: number): number {
  if (v === undefined) return fallback;
  if (!/^\d+$/.test(v)) throw new InvalidArgument(field, `must be a non-negative integer, got ${JSON.stringify(v)}`);
  return Number(v);
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args.includes('--help')) {
    console.log(USAGE);
    return;
  }
  const cellFile = flag(args, '--cell');
  if (cellFile === undefined) throw new InvalidArgument('--cell', `is required\n${USAGE}`);
  const config = loadCellConfig(cellFile);
  const simCfg = config.simulatedMachines;
  if (simCfg === undefined) throw new InvalidArgument('simulatedMachines', `cell ${config.name} has no simulated machines`);
  const n = count(flag(args, '--machines'), '--machines', simCfg.count);
  if (n < 1 || n > simCfg.count) throw new InvalidArgument('--machines', `must be between 1 and ${simCfg.count}`);
  const seed = count(flag(args, '--seed'), '--seed', 1);
  const sim = new SimBorglets(config.name, simulatedMachineConfigs(simCfg).slice(0, n), systemClock, new SeededRng(seed));
  const tls = await loadIdentity(config, SIM_BORGLETS_NAME);
  // Reading the peer's certificate parses it on every call (the real Borglet's cost at one poll per 2 s; here it
  // would be 5,000 parses a second for 10,000 machines). A verdict is kept per connection (remote address) for a
  // short while: TLS already pinned that connection to one certificate, and a port reused by a new connection
  // within AUTH_CACHE_MS is checked afresh once the entry expires.
  const AUTH_CACHE_MS = 5000;
  const verdicts = new Map<string, { atMs: number; error: PermissionDenied | undefined }>();
  const { server } = await serveSimBorglets(sim, simCfg.address, serverCredentials(tls), (call) => {
    const peer = call.getPeer();
    const now = Date.now();
    let v = verdicts.get(peer);
    if (v === undefined || now - v.atMs >= AUTH_CACHE_MS) {
      const who = peerIdentity(call);
      v = { atMs: now, error: who.roles.includes('replica') ? undefined : new PermissionDenied(`${who.commonName} is not a master replica of cell ${config.name}`) };
      if (verdicts.size >= 1024) verdicts.clear();
      verdicts.set(peer, v);
    }
    if (v.error !== undefined) throw v.error;
  });
  console.log(`simulated borglets of cell ${config.name}: ${n} machines listening on ${simCfg.address}`);

  const lines = createInterface({ input: process.stdin });
  lines.on('line', (line) => {
    const [verb, arg] = line.trim().split(/\s+/);
    try {
      switch (verb) {
        case 'partition':
        case 'heal':
          sim.partition(arg ?? '', verb === 'partition');
          console.log(`${verb} ${arg} ok`);
          break;
        case 'counters':
          console.log(`counters ${JSON.stringify({ ...sim.counters, running: sim.runningTasks() })}`);
          break;
        case 'intervals':
          console.log(`intervals ${JSON.stringify(sim.pollIntervals())}`);
          break;
        case 'ballot':
          console.log(`ballot ${arg} ${JSON.stringify(sim.ballotSeen(arg ?? ''))}`);
          break;
        case 'tasks':
          console.log(`tasks ${arg} ${JSON.stringify(sim.tasksOn(arg ?? ''))}`);
          break;
        case '':
        case undefined:
          break;
        default:
          console.log(`error unknown command ${JSON.stringify(verb)}`);
      }
    } catch (e: unknown) {
      console.log(`error ${e instanceof Error ? e.message : String(e)}`);
    }
  });
  const stop = () => server.tryShutdown(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((e: unknown) => {
  process.stderr.write(`sim-borglets: ${e instanceof BorgError ? e.message : e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(2);
});
