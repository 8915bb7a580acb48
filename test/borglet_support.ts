// Support for the Borglet's end-to-end tests: a real gRPC poll client of the real protocol (what the
// Borgmaster's link shards speak), a launcher for the real daemon (borglet/main.ts), task builders, and cleanup
// that kills every process and removes every cgroup and temp dir a test made, even when it failed.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials, Metadata } from '@grpc/grpc-js';
import { BorgletClient, CHANNEL_OPTIONS, invoke, RestartPolicy_Kind, type Ballot, type BorgletLogsResponse, type DesiredTask, type PollResponse, type TaskSpec, type TaskStatus } from '../proto/index';
import { detectCgroupDriver } from '../borglet/cgroups/index';
import { removeMachineFiles } from '../borglet/runtime';
import { freePort } from '../sim/ports';

export const MiB = 1024 * 1024;

/** PollClient is a minimal master side of the Poll protocol. */
export class PollClient {
  private readonly client: BorgletClient;
  private seq = 0;
  constructor(readonly address: string) {
    this.client = new BorgletClient(address, credentials.createInsecure(), CHANNEL_OPTIONS);
  }
  poll(ballot: Ballot, tasks: DesiredTask[], opts: { authoritative?: boolean; machine?: string; desiredVersion?: number } = {}): Promise<PollResponse> {
    return invoke(this.client.poll.bind(this.client), {
      cell: 'test',
      machine: opts.machine ?? '',
      ballot,
      replica: ballot.replica,
      pollSeq: ++this.seq,
      authoritative: opts.authoritative ?? true,
      tasks,
      desiredVersion: opts.desiredVersion,
    }, new Metadata(), 10_000);
  }
  logs(taskId: string, stderr = false, tailBytes = 0): Promise<BorgletLogsResponse> {
    return invoke(this.client.taskLogs.bind(this.client), { taskId, stderr, tailBytes }, new Metadata(), 10_000);
  }
  close(): void {
    this.client.close();
  }
}

export function spec(command: string, args: string[], o: Partial<TaskSpec> & { cpuMillis?: number; ramBytes?: number } = {}): TaskSpec {
  const { cpuMillis, ramBytes, ...rest } = o;
  return {
    command,
    args,
    env: {},
    workingDir: '',
    requirements: { cpuMillis: cpuMillis ?? 100, ramBytes: ramBytes ?? 32 * MiB, diskBytes: 0, ports: 0 },
    constraints: [],
    healthCheck: undefined,
    restartPolicy: { kind: RestartPolicy_Kind.NEVER, maxRestarts: 0, backoffInitialMs: 0, backoffMaxMs: 0, resetAfterMs: 0 },
    latencySensitive: false,
    killGraceMs: 1_000,
    ...rest,
  };
}

export function task(index: number, s: TaskSpec, o: Partial<DesiredTask> = {}): DesiredTask {
  return { taskId: `test/u/job/${index}`, specVersion: 1, spec: s, priority: 200, bnsName: '', ports: [], ...o };
}

export function find(r: PollResponse, taskId: string): TaskStatus {
  const t = r.tasks.find((x) => x.taskId === taskId);
  if (!t) throw new Error(`task ${taskId} not reported; got ${r.tasks.map((x) => x.taskId).join(', ')}`);
  return t;
}

export async function waitFor<T>(what: string, f: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 15_000, everyMs = 100): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await f();
      if (v !== undefined && v !== false) return v;
    } catch (e: unknown) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Daemon is a real borglet/main.ts process. */
export interface Daemon {
  child: ChildProcess;
  address: string;
  output: () => string;
  kill9(): Promise<void>;
}

/** Machine is one test machine: a unique name, a temp state dir, a port; cleanup() removes every trace. */
export class TestMachine {
  readonly name: string;
  readonly stateDir: string;
  private daemons: Daemon[] = [];
  port = 0;

  constructor(label: string) {
    this.name = `t-${label}-${process.pid}-${Math.floor(Math.random() * 1e6)}`;
    this.stateDir = mkdtempSync(join(tmpdir(), `borglet-${label}-`));
  }

  async start(args: string[]): Promise<Daemon> {
    if (this.port === 0) this.port = await freePort();
    const child = spawn(process.execPath, ['--import', 'tsx', 'borglet/main.ts', '--machine', this.name, '--listen', `127.0.0.1:${this.port}`, '--state-dir', this.stateDir, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<void>((r) => child.on('exit', () => r()));
    const d: Daemon = {
      child,
      address: `127.0.0.1:${this.port}`,
      output: () => out,
      kill9: async () => {
        child.kill('SIGKILL');
        await exited;
      },
    };
    this.daemons.push(d);
    await waitFor(`borglet ${this.name} to listen (output: ${out})`, () => out.includes('listening on') || (child.exitCode !== null ? Promise.reject(new Error(out)) : false), 30_000, 50);
    return d;
  }

  async cleanup(): Promise<void> {
    for (const d of this.daemons) if (d.child.exitCode === null && d.child.signalCode === null) await d.kill9();
    detectCgroupDriver(this.name).destroyMachine();
    removeMachineFiles(this.stateDir, undefined, this.name);
  }
}
