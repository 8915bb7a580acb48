// `borg up`: brings up a local cell from its config: the cell's certificates, Redis for BNS (when redis-server is
// installed), every Borgmaster replica, a Borglet per configured machine, and the scheduler, each as its own
// process; waits for an elected master and the machines; with --examples submits examples/*.bcl; then prints
// where to look. Ctrl-C stops the scheduler, the Borglets (and kills their tasks, removing their cgroups), the
// replicas and Redis, in that order.
import { rmSync } from 'node:fs';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';
import { connect } from 'node:net';
import { Metadata } from '@grpc/grpc-js';
import { register, EXIT } from '../registry';
import { loadCellConfig, type CellConfig } from '../../cells/config';
import { cellIdentities, loadIdentity, prepareIdentities } from '../../cells/identity';
import { clientCredentials } from '../../cells/security/index';
import { BorgMasterClient, CHANNEL_OPTIONS, invoke, type CellStatusResponse } from '../../proto/index';
import { BorgError, InvalidArgument, NotLeader } from '../../model/errors';
import { evaluateFile } from '../../bcl/index';
import { Supervisor, type Daemon } from '../up/supervisor';
import { detectCgroupDriver } from '../../borglet/cgroups/index';
import { removeMachineFiles } from '../../borglet/runtime';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

const HELP = `usage: borg up [--cell FILE] [--examples] [--fresh]

Brings up a local cell: its certificates, Redis for BNS (if redis-server is installed), every Borgmaster replica,
a Borglet per configured machine (carved out of this host; needs root for cgroups), and the scheduler.
Logs go to .borg/CELL/logs/. Ctrl-C stops everything and kills the cell's tasks.

  --cell FILE   the cell config (default cells/local.yaml)
  --examples    submit examples/web.bcl and examples/batch.bcl once the cell is up
  --fresh       forget the cell's previous state (the state directory) first
  --state-dir D where Borglet state and logs go (default .borg/CELL; replica data lives where the config says)

example: borg up --examples`;

const EXAMPLES = ['examples/web.bcl', 'examples/batch.bcl'];
const EXAMPLE_USER = 'ubar';
const STARTUP_TIMEOUT_MS = 60_000;

function say(msg: string): void {
  process.stdout.write(`${msg}\n`);
}

function redisInstalled(): boolean {
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function reachable(address: string): Promise<boolean> {
  const i = address.lastIndexOf(':');
  return new Promise((res) => {
    const s = connect({ host: address.slice(0, i), port: Number(address.slice(i + 1)) }, () => {
      s.destroy();
      res(true);
    });
    s.on('error', () => res(false));
    s.setTimeout(500, () => {
      s.destroy();
      res(false);
    });
  });
}

/**
 * alreadyUp names an address of the cell's own daemons (replicas, status pages, Borglets) that something already
 * answers on: this cell running from another `borg up`, most likely. Starting a second one would fail to bind and,
 * stopping, take the running cell's machines down with it (their cgroups, tasks and state), so up refuses first.
 */
async function alreadyUp(config: CellConfig): Promise<string | undefined> {
  const own: [address: string, what: string][] = [
    ...config.replicas.flatMap((r): [string, string][] => [[r.address, `replica ${r.id}`], [r.statusAddress, `replica ${r.id}'s status page`]]),
    ...config.machines.filter((m) => m.address !== '').map((m): [string, string] => [m.address, `the Borglet of ${m.name}`]),
  ];
  const answering = await Promise.all(own.map(async ([address, what]) => ((await reachable(address)) ? `${address} (${what})` : undefined)));
  return answering.find((a) => a !== undefined);
}

async function cellStatus(config: CellConfig, client: (address: string) => InstanceType<typeof BorgMasterClient>): Promise<CellStatusResponse | undefined> {
  for (const r of config.replicas) {
    try {
      const c = client(r.address);
      const s = await invoke(c.cellStatus.bind(c), {}, new Metadata(), 1000);
      if (s.leaderReplica !== 0) return s;
    } catch {
      // not up yet
    }
  }
  return undefined;
}

async function waitFor<T>(what: string, f: () => Promise<T | undefined>, failed: () => string | undefined): Promise<T> {
  const end = Date.now() + STARTUP_TIMEOUT_MS;
  for (;;) {
    const dead = failed();
    if (dead) throw new BorgError('unavailable', dead);
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new BorgError('unavailable', `timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * onLeader runs a write on the elected master, following NotLeader redirects and retrying while the cell elects
 * one (the request id makes the retries safe).
 */
async function onLeader<T>(config: CellConfig, client: (address: string) => InstanceType<typeof BorgMasterClient>, first: string | undefined, f: (c: InstanceType<typeof BorgMasterClient>) => Promise<T>): Promise<T> {
  const end = Date.now() + STARTUP_TIMEOUT_MS;
  let address = first ?? config.replicas[0]?.address ?? '';
  for (let attempt = 0; ; attempt++) {
    try {
      return await f(client(address));
    } catch (e: unknown) {
      const retry = e instanceof NotLeader || (e instanceof BorgError && e.code === 'unavailable');
      if (!retry || Date.now() > end) throw e;
      address = e instanceof NotLeader && e.leaderAddress ? e.leaderAddress : (config.replicas[attempt % config.replicas.length]?.address ?? address);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

register('up', {
  summary: 'bring up a local cell (replicas, scheduler, Borglets, status page, BNS)',
  async run(args) {
    if (args.includes('--help')) {
      console.log(HELP);
      return EXIT.ok;
    }
    for (const a of args) if (a.startsWith('--') && !['--cell', '--examples', '--fresh', '--state-dir'].includes(a)) throw new InvalidArgument(a, `unknown flag\n\n${HELP}`);
    const value = (flag: string): string | undefined => {
      const i = args.indexOf(flag);
      if (i < 0) return undefined;
      const v = args[i + 1];
      if (v === undefined || v.startsWith('--')) throw new InvalidArgument(flag, 'needs a value');
      return v;
    };
    const cellFile = resolve(value('--cell') ?? join(root, 'cells/local.yaml'));
    const config = loadCellConfig(cellFile, root);
    const stateDir = resolve(value('--state-dir') ?? join(root, '.borg', config.name));
    if (process.getuid?.() !== 0) throw new BorgError('failed_precondition', 'borg up runs Borglets, which need root for cgroups: run it as root');
    const busy = await alreadyUp(config);
    if (busy !== undefined) throw new BorgError('failed_precondition', `cell ${config.name} looks up already: ${busy} answers. Stop it first (Ctrl-C where it runs); nothing was started or removed`);
    if (args.includes('--fresh')) rmSync(stateDir, { recursive: true, force: true });

    say(`borg up: cell ${config.name} from ${cellFile}`);
    await prepareIdentities(config, cellIdentities(config, [EXAMPLE_USER]));
    say(`  certificates: ${config.security.caDir}`);

    let failure: string | undefined;
    const sup = new Supervisor(join(stateDir, 'logs'), (d: Daemon, code) => {
      failure = `${d.name} exited unexpectedly (code ${code}); see ${join(stateDir, 'logs', `${d.name}.log`)}`;
      say(`  ! ${failure}`);
    });

    const daemonArgs: string[] = ['--cell', cellFile];
    let bns = 'off (no bns.redis in the cell config)';
    if (config.bns.redis) {
      if (await reachable(config.bns.redis)) bns = `Redis at ${config.bns.redis} (already running)`;
      else if (redisInstalled()) {
        const [host, port] = [config.bns.redis.slice(0, config.bns.redis.lastIndexOf(':')), config.bns.redis.slice(config.bns.redis.lastIndexOf(':') + 1)];
        const redis = sup.start('redis', 'redis-server', ['--bind', host, '--port', port, '--save', '', '--appendonly', 'no'], root);
        await waitFor('redis', async () => ((await reachable(config.bns.redis ?? '')) ? true : undefined), () => (redis.child.exitCode !== null ? 'redis-server failed to start' : undefined));
        bns = `Redis at ${config.bns.redis} (started by borg up)`;
      } else {
        bns = 'off: redis-server is not installed (apt-get install redis-server to publish task names)';
        daemonArgs.push('--no-bns');
      }
    }
    say(`  BNS: ${bns}`);

    for (const r of config.replicas) sup.startScript(`replica-${r.id}`, join(root, 'borgmaster/main.ts'), [...daemonArgs, '--replica', String(r.id)], root);
    for (const m of config.machines.filter((m) => m.address !== '')) {
      sup.startScript(`borglet-${m.name}`, join(root, 'borglet/main.ts'), ['--machine', m.name, '--cell', cellFile, '--state-dir', join(stateDir, 'borglets', m.name)], root);
    }
    if (config.simulatedMachines) sup.startScript('sim-borglets', join(root, 'sim/borglets/main.ts'), ['--cell', cellFile], root);
    // The scheduler runs compiled: its passes are ~10% faster than under tsx (scheduler/README.md).
    await sup.startCompiled('scheduler', join(root, 'scheduler/process/main.ts'), ['--cell', cellFile], root);

    let stopping = false;
    const stop = async (why: string) => {
      if (stopping) return;
      stopping = true;
      say(`\nborg up: ${why}; stopping the cell`);
      await sup.stop(['scheduler']);
      await sup.stop(sup.daemons.filter((d) => d.name.startsWith('borglet-') || d.name === 'sim-borglets').map((d) => d.name));
      // The Borglets keep their tasks when they stop (autonomy); taking the cell down kills them for good, through
      // each machine's cgroups (every process of every task, wherever it forked to), and removes the cgroups.
      for (const m of config.machines.filter((m) => m.address !== '')) {
        try {
          detectCgroupDriver(m.name).destroyMachine();
          removeMachineFiles(join(stateDir, 'borglets', m.name), config.name, m.name);
        } catch (e: unknown) {
          say(`  ! could not clean up machine ${m.name}: ${e instanceof Error ? e.message : String(e)}`);
        }
      }
      await sup.stop();
      say('borg up: stopped');
      process.exit(0);
    };
    process.on('SIGINT', () => void stop('interrupted'));
    process.on('SIGTERM', () => void stop('terminated'));

    const creds = clientCredentials(await loadIdentity(config, EXAMPLE_USER));
    const clients = new Map<string, InstanceType<typeof BorgMasterClient>>();
    const client = (address: string) => {
      let c = clients.get(address);
      if (!c) clients.set(address, (c = new BorgMasterClient(address, creds, CHANNEL_OPTIONS)));
      return c;
    };
    try {
      const status = await waitFor('an elected master', () => cellStatus(config, client), () => failure);
      const leader = config.replicas.find((r) => r.id === status.leaderReplica);
      say(`  Borgmaster: ${config.replicas.length} replicas, replica ${status.leaderReplica} elected master`);
      const wantMachines = config.machines.filter((m) => m.address !== '').length + (config.simulatedMachines?.count ?? 0);
      await waitFor(`${wantMachines} machines UP`, async () => {
        const s = await cellStatus(config, client);
        return s && s.machinesUp >= wantMachines ? s : undefined;
      }, () => failure);
      say(`  Borglets: ${wantMachines} machines UP; scheduler running (policy ${config.scheduler.policy})`);
      if (args.includes('--examples')) {
        for (const file of EXAMPLES) {
          for (const spec of evaluateFile(join(root, file), { cell: config.name }).jobs) {
            try {
              await onLeader(config, client, leader?.address, (c) => invoke(c.createJob.bind(c), { requestId: `borg-up-example/${spec.name}`, spec }, new Metadata(), 10_000));
              say(`  submitted ${file}: job ${spec.user}/${spec.name} (${spec.taskCount} tasks)`);
            } catch (e: unknown) {
              if (e instanceof BorgError && e.code === 'already_exists') say(`  ${file}: job ${spec.user}/${spec.name} already exists`);
              else throw e;
            }
          }
        }
      }
      const statusUrl = `http://${leader?.statusAddress ?? config.replicas[0]?.statusAddress}/`;
      say('');
      say(`Cell ${config.name} is up. Status page: ${statusUrl}`);
      say(`Logs: ${join(stateDir, 'logs')}`);
      say('Try:');
      say('  npx borg jobs                      # jobs and their task states');
      say('  npx borg tasks web                 # the web job\'s tasks, machines and ports');
      say('  npx borg resolve web.ubar.local.borg   # BNS: where the web tasks listen');
      say('Ctrl-C stops the cell.');
    } catch (e: unknown) {
      await stop(`failed: ${e instanceof Error ? e.message : String(e)}`);
      return EXIT.unreachable;
    }
    await new Promise<never>(() => undefined);
    return EXIT.ok;
  },
});

