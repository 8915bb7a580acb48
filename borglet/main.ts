// The Borglet daemon. `node --import tsx borglet/main.ts --machine NAME --listen 127.0.0.1:PORT --state-dir DIR
// [--cpu 500m] [--ram 2GiB] [--disk 10GiB] [--ports 100] [--attr k=v]... [--cell FILE] [--reclaim-start 5s]
// [--reclaim-interval 1s] [--sample-interval 1s] [--cgroup auto|v1|v2] [--task-user nobody] [--cleanup]`.
// With --cell, the machine's capacity, attributes and address come from the cell config unless overridden, and
// reclamation parameters from its `reclamation` section. Prints `borglet NAME listening on ADDR` when ready.
// SIGTERM/SIGINT stop the daemon and leave its tasks running; --cleanup instead kills every task of the machine
// and removes its cgroups and state (for operators and test teardown).
import { resolve } from 'node:path';
import type { ServerCredentials } from '@grpc/grpc-js';
import { BorgError, InvalidArgument, PermissionDenied } from '../model/errors';
import { validateMachineName } from '../model/ids';
import { parseBytes, parseCpuMillis, parseDurationMs } from '../model/units';
import type { Resources } from '../model/resources';
import { loadCellConfig, type CellConfig, type ReclamationConfig } from '../cells/config';
import { borgletName, loadIdentity } from '../cells/identity';
import { peerIdentity, serverCredentials } from '../cells/security/index';
import type { Authorize } from './server';
import { detectCgroupDriver, type DriverPreference } from './cgroups/index';
import { removeMachineFiles } from './runtime';
import { startBorglet } from './index';

const DEFAULT_RECLAMATION: ReclamationConfig = { startDelayMs: 300_000, intervalMs: 10_000, safetyMargin: 0.15, decay: 0.1 };

const USAGE = `usage: borglet --machine NAME --listen HOST:PORT --state-dir DIR [--cpu 500m] [--ram 2GiB] [--disk 10GiB]
  [--ports N] [--attr k=v]... [--cell FILE] [--reclaim-start DUR] [--reclaim-interval DUR] [--sample-interval DUR]
  [--cgroup auto|v1|v2] [--task-user USER] [--cleanup]`;

interface Flags {
  values: Map<string, string>;
  attrs: string[];
  cleanup: boolean;
}

const VALUE_FLAGS = ['machine', 'listen', 'state-dir', 'cpu', 'ram', 'disk', 'ports', 'cell', 'reclaim-start', 'reclaim-interval', 'sample-interval', 'cgroup', 'task-user'];

function parseFlags(argv: string[]): Flags {
  const f: Flags = { values: new Map(), attrs: [], cleanup: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--help' || a === '-h') {
      console.log(USAGE);
      process.exit(0);
    }
    if (a === '--cleanup') {
      f.cleanup = true;
      continue;
    }
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(a);
    if (!m || (!VALUE_FLAGS.includes(m[1] as string) && m[1] !== 'attr')) throw new InvalidArgument(a, `unknown flag\n${USAGE}`);
    const value = m[2] ?? argv[++i];
    if (value === undefined) throw new InvalidArgument(`--${m[1]}`, 'needs a value');
    if (m[1] === 'attr') f.attrs.push(value);
    else f.values.set(m[1] as string, value);
  }
  return f;
}

async function main(): Promise<void> {
  const f = parseFlags(process.argv.slice(2));
  const machine = validateMachineName(f.values.get('machine'), '--machine');
  const cgroup = (f.values.get('cgroup') ?? 'auto') as DriverPreference;
  if (!['auto', 'v1', 'v2'].includes(cgroup)) throw new InvalidArgument('--cgroup', `must be auto, v1 or v2, got ${cgroup}`);
  const stateDir = f.values.get('state-dir');
  if (stateDir === undefined) throw new InvalidArgument('--state-dir', 'is required');
  if (f.cleanup) {
    detectCgroupDriver(machine, cgroup).destroyMachine();
    const cleanupCell = f.values.get('cell');
    removeMachineFiles(resolve(stateDir), cleanupCell === undefined ? undefined : loadCellConfig(cleanupCell).name, machine);
    console.log(`borglet ${machine}: killed its tasks and removed its cgroups, ${stateDir} and its sandboxes`);
    return;
  }
  let reclamation = DEFAULT_RECLAMATION;
  const capacity: Partial<Resources> = {};
  const attributes: Record<string, string> = {};
  let listen = f.values.get('listen');
  let cell: string | undefined;
  let security: { credentials: ServerCredentials; authorize: Authorize } | undefined;
  const cellFile = f.values.get('cell');
  if (cellFile !== undefined) {
    const cfg = loadCellConfig(cellFile);
    cell = cfg.name;
    if (cfg.security.tls) security = await cellSecurity(cfg, machine);
    reclamation = cfg.reclamation;
    const m = cfg.machines.find((x) => x.name === machine);
    if (m) {
      Object.assign(capacity, m.capacity);
      Object.assign(attributes, m.attributes, { rack: m.rack, power_domain: m.powerDomain });
      if (listen === undefined && m.address !== '') listen = m.address;
    }
  }
  if (listen === undefined) throw new InvalidArgument('--listen', 'is required (or give --cell with this machine in it)');
  const cpu = f.values.get('cpu');
  if (cpu !== undefined) capacity.cpuMillis = parseCpuMillis(cpu, '--cpu');
  const ram = f.values.get('ram');
  if (ram !== undefined) capacity.ramBytes = parseBytes(ram, '--ram');
  const disk = f.values.get('disk');
  if (disk !== undefined) capacity.diskBytes = parseBytes(disk, '--disk');
  const ports = f.values.get('ports');
  if (ports !== undefined) {
    if (!/^\d+$/.test(ports)) throw new InvalidArgument('--ports', `must be a count, got ${ports}`);
    capacity.ports = Number(ports);
  }
  for (const kv of f.attrs) {
    const eq = kv.indexOf('=');
    if (eq <= 0) throw new InvalidArgument('--attr', `must be key=value, got ${JSON.stringify(kv)}`);
    attributes[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  const rs = f.values.get('reclaim-start');
  const ri = f.values.get('reclaim-interval');
  const si = f.values.get('sample-interval');
  reclamation = {
    ...reclamation,
    startDelayMs: rs === undefined ? reclamation.startDelayMs : parseDurationMs(rs, '--reclaim-start'),
    intervalMs: ri === undefined ? reclamation.intervalMs : parseDurationMs(ri, '--reclaim-interval'),
  };
  if (reclamation.intervalMs < 1) throw new InvalidArgument('--reclaim-interval', 'must be positive');
  const sampleIntervalMs = si === undefined ? undefined : parseDurationMs(si, '--sample-interval');
  if (sampleIntervalMs !== undefined && sampleIntervalMs < 10) throw new InvalidArgument('--sample-interval', 'must be at least 10ms');
  const running = await startBorglet({
    machine,
    cell,
    stateDir: resolve(stateDir),
    reclamation,
    capacity,
    attributes,
    sampleIntervalMs,
    cgroupDriver: cgroup,
    taskUser: f.values.get('task-user'),
    listen,
    ...security,
  });
  console.log(`borglet ${machine} listening on ${running.address} (${running.borglet.driver.description}; ${running.borglet.isolation.summary})`);
  const shutdown = (sig: string): void => {
    process.stderr.write(`borglet ${machine}: ${sig}: stopping; tasks keep running\n`);
    void running.close().then(() => process.exit(0));
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

/** cellSecurity: mutual TLS with this machine's certificate; only the cell's master replicas may give orders. */
async function cellSecurity(cfg: CellConfig, machine: string): Promise<{ credentials: ServerCredentials; authorize: Authorize }> {
  const tls = await loadIdentity(cfg, borgletName(machine));
  return {
    credentials: serverCredentials(tls),
    authorize: (call) => {
      const who = peerIdentity(call);
      if (!who.roles.includes('replica')) throw new PermissionDenied(`${who.commonName} is not a master replica of cell ${cfg.name}`);
    },
  };
}

main().catch((e: unknown) => {
  const msg = e instanceof BorgError ? e.message : e instanceof Error ? (e.stack ?? e.message) : String(e);
  process.stderr.write(`borglet: ${msg}\n`);
  process.exit(2);
});
