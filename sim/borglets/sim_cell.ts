// A cell of real daemons around simulated Borglets, for process-level tests and the cell benchmark: three
// replica processes (borgmaster/main.ts), the scheduler process, and one sim/borglets process serving every
// simulated machine, from a generated config on free loopback ports, with a throwaway CA and mutual TLS.
// Each daemon runs in its own process, so a test can kill -9 one and start it again.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, existsSync, createWriteStream, type WriteStream } from 'node:fs';
import { setPriority, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Metadata } from '@grpc/grpc-js';
import { loadCellConfig, type CellConfig } from '../../cells/config';
import { cellIdentities, loadIdentity, prepareIdentities } from '../../cells/identity';
import { clientCredentials } from '../../cells/security/index';
import type { SimCounters } from './sim_borglets';
import { BorgMasterClient, CHANNEL_OPTIONS, invoke, type CellStatusResponse, type JobSpec } from '../../proto/index';
import { MiB } from '../../model/resources';
import { BorgError, NotLeader } from '../../model/errors';
import { freePort } from '../ports';
import { COMPILED_NODE_FLAGS, compileEntry, TSX_NODE_FLAGS } from '../../cli/up/compiled';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** SIM_BORGLETS_NICE: the simulated Borglets process's nice value (19 is the lowest priority). */
const SIM_BORGLETS_NICE = 10;

export interface SimCellOptions {
  name: string;
  machines: number;
  /** capacity of each simulated machine, in cell-config syntax. */
  capacity?: string;
  pollInterval?: string;
  missedPollsBeforeDown?: number;
  rescheduleTasksPerSecond?: number;
  passInterval?: string;
  /** users besides `admin` that get a certificate and generous quotas. */
  users?: string[];
  /** logDir keeps the daemons' output there (default: inside the cell's temporary directory). */
  logDir?: string;
  /** paxos: the config's paxos section, e.g. `{ tick: 50ms, electionTicks: 30, leaseTicks: 24 }` (default: defaults). */
  paxos?: string;
  /** extra node flags for the replica processes (e.g. --max-old-space-size). */
  replicaNodeFlags?: string[];
  /** extra node flags for the simulated Borglets' process (e.g. --cpu-prof). */
  simNodeFlags?: string[];
}

export type MasterClient = InstanceType<typeof BorgMasterClient>;

/** SimCellCounters: the simulated Borglets' counters plus live tasks. */
export interface SimCellCounters extends SimCounters {
  running: number;
}

export interface Daemon {
  name: string;
  child: ChildProcess;
  output(): string;
  exited: Promise<void>;
}

export class SimCell {
  readonly replicas = new Map<number, Daemon>();
  scheduler: Daemon | undefined;
  borglets: Daemon | undefined;
  private readonly clients: MasterClient[] = [];
  private readonly logs: WriteStream[] = [];
  private simLines: string[] = [];

  private constructor(
    readonly dir: string,
    readonly cellFile: string,
    readonly config: CellConfig,
    private readonly opts: SimCellOptions,
  ) {}

  /** start writes the config, issues certificates and starts every daemon; resolves once a master is elected. */
  static async start(o: SimCellOptions): Promise<SimCell> {
    const dir = mkdtempSync(join(tmpdir(), `borg-sim-${o.name}-`));
    const ports = await Promise.all(Array.from({ length: 7 }, () => freePort()));
    const at = (i: number) => `"127.0.0.1:${ports[i]}"`;
    const users = o.users ?? ['ubar'];
    const quotas = users.flatMap((u) => [
      `  - { user: ${u}, priority: prod, limit: { cpu: 1000, ram: 4TiB, disk: 10TiB, ports: 1000 } }`,
      `  - { user: ${u}, priority: batch, limit: { cpu: 1000000, ram: 1000TiB, disk: 1000TiB, ports: 65535 } }`,
    ]);
    const cellFile = join(dir, 'cell.yaml');
    writeFileSync(
      cellFile,
      `cell: ${o.name}
replicas:
  - { id: 1, address: ${at(0)}, statusAddress: ${at(1)}, dataDir: ${dir}/r1 }
  - { id: 2, address: ${at(2)}, statusAddress: ${at(3)}, dataDir: ${dir}/r2 }
  - { id: 3, address: ${at(4)}, statusAddress: ${at(5)}, dataDir: ${dir}/r3 }
scheduler: { passInterval: ${o.passInterval ?? '200ms'} }
${o.paxos === undefined ? '' : `paxos: ${o.paxos}`}
link: { pollInterval: ${o.pollInterval ?? '300ms'}, missedPollsBeforeDown: ${o.missedPollsBeforeDown ?? 3}, rescheduleTasksPerSecond: ${o.rescheduleTasksPerSecond ?? 20} }
simulatedMachines: { count: ${o.machines}, address: ${at(6)}, capacity: ${o.capacity ?? '{ cpu: 8, ram: 32GiB, disk: 100GiB, ports: 100 }'}, machinesPerRack: 40, racksPerPowerDomain: 10 }
quotas:
${quotas.join('\n')}
admins: [admin]
security: { caDir: ${dir}/ca }
`,
    );
    const config = loadCellConfig(cellFile);
    await prepareIdentities(config, cellIdentities(config, users));
    const cell = new SimCell(dir, cellFile, config, o);
    try {
      cell.borglets = cell.spawn('sim-borglets', join(ROOT, 'sim/borglets/main.ts'), ['--cell', cellFile], o.simNodeFlags ?? []);
      // The simulated machines stand in for other hosts: on this one the cell's own daemons (replicas, scheduler)
      // come first, so the simulation runs niced and takes the CPU they leave.
      if (cell.borglets.child.pid !== undefined) setPriority(cell.borglets.child.pid, SIM_BORGLETS_NICE);
      cell.borglets.child.stdout?.on('data', (d: Buffer) => cell.simLines.push(...d.toString().split('\n').filter((l) => l !== '')));
      await cell.waitOutput(cell.borglets, 'listening on', 60_000);
      for (const r of config.replicas) cell.startReplica(r.id);
      // Compiled, as `borg up` runs it (cli/up/compiled.ts).
      const scheduler = await compileEntry(join(ROOT, 'scheduler/process/main.ts'));
      cell.scheduler = cell.spawn('scheduler', scheduler, ['--cell', cellFile], [], COMPILED_NODE_FLAGS);
      await cell.waitStatus((s) => s.leaderReplica !== 0, 120_000);
    } catch (e: unknown) {
      await cell.stop();
      throw e;
    }
    return cell;
  }

  /**
   * spawn runs a script with node, `nodeFlags` first, then how the script is run: a TypeScript one under tsx
   * (TSX_NODE_FLAGS, the default), a compiled one with COMPILED_NODE_FLAGS.
   */
  private spawn(name: string, script: string, args: string[], nodeFlags: readonly string[], runFlags: readonly string[] = TSX_NODE_FLAGS): Daemon {
    const child = spawn(process.execPath, [...nodeFlags, ...runFlags, script, ...args], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    const log = createWriteStream(join(this.opts.logDir ?? this.dir, `${name}.log`), { flags: 'a' });
    this.logs.push(log);
    let out = '';
    const keep = (d: Buffer) => {
      log.write(d);
      // Keep only the tail in memory: a long benchmark logs a lot.
      out = (out + d.toString()).slice(-200_000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    return { name, child, output: () => out, exited };
  }

  startReplica(id: number): Daemon {
    const d = this.spawn(`replica-${id}`, join(ROOT, 'borgmaster/main.ts'), ['--cell', this.cellFile, '--replica', String(id), '--no-bns'], this.opts.replicaNodeFlags ?? []);
    this.replicas.set(id, d);
    return d;
  }

  /** kill sends a signal to a daemon and waits for it to exit. */
  async kill(d: Daemon, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (d.child.exitCode !== null || d.child.signalCode !== null) return;
    d.child.kill(signal);
    await d.exited;
  }

  private async waitOutput(d: Daemon, text: string, ms: number): Promise<void> {
    const end = Date.now() + ms;
    while (!d.output().includes(text)) {
      if (d.child.exitCode !== null || Date.now() > end) throw new Error(`${d.name} did not print ${JSON.stringify(text)}:\n${d.output()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** client is a set of API clients (one per replica) authenticated as `user`. */
  async client(user = 'admin'): Promise<Map<number, MasterClient>> {
    const creds = clientCredentials(await loadIdentity(this.config, user));
    const out = new Map<number, MasterClient>();
    for (const r of this.config.replicas) {
      const c = new BorgMasterClient(r.address, creds, CHANNEL_OPTIONS);
      this.clients.push(c);
      out.set(r.id, c);
    }
    return out;
  }

  /** leader runs f on the elected master, following redirects and skipping dead replicas until timeoutMs. */
  async leader<T>(clients: Map<number, MasterClient>, f: (c: MasterClient) => Promise<T>, timeoutMs = 20_000): Promise<T> {
    const stop = Date.now() + timeoutMs;
    const ids = [...clients.keys()];
    // Start where the last call found the leader: a redirect costs every call a round trip and a pause.
    let target = this.lastLeader !== undefined && clients.has(this.lastLeader) ? this.lastLeader : (ids[0] as number);
    for (let i = 1; ; i++) {
      try {
        const out = await f(clients.get(target) as MasterClient);
        this.lastLeader = target;
        return out;
      } catch (e: unknown) {
        // During an election a replica may know no leader yet: that is a redirect to nobody, so try again.
        const retry = e instanceof NotLeader || (e instanceof BorgError && (e.code === 'unavailable' || e.code === 'deadline_exceeded' || e.message.startsWith('not the leader')));
        if (!retry || Date.now() > stop) throw e;
        const hinted = e instanceof NotLeader ? this.config.replicas.find((r) => r.address === e.leaderAddress)?.id : undefined;
        target = hinted ?? (ids[i % ids.length] as number);
        await new Promise((r) => setTimeout(r, hinted === undefined ? 50 : 5));
      }
    }
  }

  /** lastLeader is the replica the last successful leader() call reached. */
  private lastLeader: number | undefined;

  /** status asks any live replica for CellStatus. */
  async status(): Promise<CellStatusResponse> {
    const clients = this.statusClients ?? (this.statusClients = await this.client('admin'));
    let last: unknown;
    for (const [id, c] of clients) {
      const d = this.replicas.get(id);
      if (d === undefined || d.child.exitCode !== null || d.child.signalCode !== null) continue;
      try {
        return await invoke(c.cellStatus.bind(c), {}, new Metadata(), 3000);
      } catch (e: unknown) {
        last = e;
      }
    }
    throw last instanceof Error ? last : new Error('no replica answered CellStatus');
  }
  private statusClients: Map<number, MasterClient> | undefined;

  async waitStatus(ok: (s: CellStatusResponse) => boolean, ms: number): Promise<CellStatusResponse> {
    const end = Date.now() + ms;
    for (;;) {
      const s = await this.status().catch(() => undefined);
      if (s !== undefined && ok(s)) return s;
      for (const d of this.replicas.values()) if (d.child.exitCode !== null && d.child.exitCode !== 0) throw new Error(`${d.name} exited ${d.child.exitCode}:\n${d.output()}`);
      if (Date.now() > end) throw new Error(`cell ${this.config.name} did not reach the wanted status; last: ${JSON.stringify(s)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /**
   * memory reads a replica's process memory from its /metrics (borg_process_memory_bytes): rss, heap_used,
   * heap_total, external, array_buffers.
   */
  async memory(id: number): Promise<Record<string, number>> {
    const text = await this.metricsText(id);
    const out: Record<string, number> = {};
    for (const m of text.matchAll(/^borg_process_memory_bytes\{[^}]*kind="([a-z_]+)"[^}]*\} (\d+(?:\.\d+)?(?:e\+\d+)?)$/gm)) out[m[1] as string] = Number(m[2]);
    return out;
  }

  /** metricsText is a replica's /metrics page (Prometheus text). */
  async metricsText(id: number): Promise<string> {
    const r = this.config.replicas.find((x) => x.id === id);
    if (r === undefined) throw new Error(`no replica ${id}`);
    const res = await fetch(`http://${r.statusAddress}/metrics`, { signal: AbortSignal.timeout(10_000) });
    return res.text();
  }

  /** sim sends one command line to the simulated Borglets and returns its answer line (starting with `expect`). */
  async sim(line: string, expect: string): Promise<string> {
    const b = this.borglets;
    if (b === undefined) throw new Error('no simulated Borglets');
    const from = this.simLines.length;
    b.child.stdin?.write(`${line}\n`);
    const end = Date.now() + 10_000;
    for (;;) {
      const hit = this.simLines.slice(from).find((l) => l.startsWith(expect) || l.startsWith('error '));
      if (hit !== undefined) {
        if (hit.startsWith('error ')) throw new Error(`sim-borglets: ${line}: ${hit}`);
        return hit.slice(expect.length).trim();
      }
      if (Date.now() > end) throw new Error(`sim-borglets did not answer ${JSON.stringify(line)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async counters(): Promise<SimCellCounters> {
    return JSON.parse(await this.sim('counters', 'counters ')) as SimCellCounters;
  }

  /** pollIntervals: the simulated machines' poll intervals since the previous call (ms). */
  async pollIntervals(): Promise<{ count: number; p50Ms: number; p95Ms: number; p99Ms: number; maxMs: number }> {
    return JSON.parse(await this.sim('intervals', 'intervals ')) as { count: number; p50Ms: number; p95Ms: number; p99Ms: number; maxMs: number };
  }

  async ballotSeen(machine: string): Promise<{ round: number; replica: number }> {
    return JSON.parse(await this.sim(`ballot ${machine}`, `ballot ${machine} `)) as { round: number; replica: number };
  }

  async tasksOn(machine: string): Promise<string[]> {
    return JSON.parse(await this.sim(`tasks ${machine}`, `tasks ${machine} `)) as string[];
  }

  /** stop ends every daemon (SIGTERM, then SIGKILL after 5 s) and removes the cell's directory. */
  async stop(): Promise<void> {
    for (const c of this.clients) c.close();
    const all = [...this.replicas.values(), ...(this.scheduler ? [this.scheduler] : []), ...(this.borglets ? [this.borglets] : [])];
    await Promise.all(
      all.map(async (d) => {
        if (d.child.exitCode !== null || d.child.signalCode !== null) return;
        const t = setTimeout(() => d.child.kill('SIGKILL'), 5000);
        d.child.kill('SIGTERM');
        await d.exited;
        clearTimeout(t);
      }),
    );
    for (const l of this.logs) l.end();
    if (existsSync(this.dir) && !process.env.BORG_TEST_KEEP) rmSync(this.dir, { recursive: true, force: true });
  }
}

/** simJob is a job of synthetic tasks (100m CPU, 64 MiB, no ports) for simulated machines. */
export function simJob(cell: string, name: string, tasks: number, user = 'ubar', priority = 100): JobSpec {
  return {
    name,
    user,
    cell,
    priority,
    taskCount: tasks,
    task: { command: '/bin/sleep', args: ['1000'], env: {}, workingDir: '', requirements: { cpuMillis: 100, ramBytes: 64 * MiB, diskBytes: 0, ports: 0 }, constraints: [], healthCheck: undefined, restartPolicy: undefined, latencySensitive: false, killGraceMs: 0 },
    overrides: [],
    updatePolicy: { maxTasksDown: 1 },
    spread: { maxPerMachine: 0, maxPerRack: 0, maxPerPowerDomain: 0 },
    annotations: {},
  };
}

/** eventually retries f until it returns a value or ms pass. */
export async function eventually<T>(what: string, f: () => Promise<T | undefined>, ms = 30_000, stepMs = 100): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}
