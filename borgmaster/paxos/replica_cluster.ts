// ReplicaCluster runs standalone replicas (replica_main.ts) as real OS processes on loopback and talks to them
// through the PaxosKv service: start, find the leader, put with leader redirection, kill -9, restart, stop.
// The real-process kill test (test/paxos_processes.test.ts) and `npm run bench -- paxos` share it.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Metadata, credentials } from '@grpc/grpc-js';
import { assert } from '../../model/assert';
import { BorgError, NotLeader, Unavailable } from '../../model/errors';
import { PAXOS_GRPC_OPTIONS } from './transport';
import { freePort } from '../../sim/ports';
import { PaxosKvClient, invoke, type KvApplied, type KvStatusResponse } from '../../proto/index';

const REPLICA_MAIN = fileURLToPath(new URL('./replica_main.ts', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

// Callers (node tests, the etcd benchmark) take freePort from here with the rest of the process harness.
export { freePort };

export interface ReplicaClusterOptions {
  /** size: 1, 3 or 5 replicas. */
  size: number;
  /** dir holds one data directory per replica (the caller creates and removes it). */
  dir: string;
  /** extraArgs go to every replica (timing flags, --snapshot-every ...). */
  extraArgs?: string[];
  /** log receives each replica's stderr lines (default: dropped, kept in the last-lines buffer). */
  log?: (id: number, line: string) => void;
  /**
   * kvServer: where each replica serves PaxosKv. 'client-port' (default): its own port, served by
   * grpc_unary_server.ts (as etcd separates client and peer URLs); 'grpc-js': the Paxos peer port's grpc-js server.
   */
  kvServer?: 'client-port' | 'grpc-js';
}

interface Member {
  id: number;
  /** address is the Paxos peer address; clientAddress is where PaxosKv is served (the same with kvServer grpc-js). */
  address: string;
  clientAddress: string;
  dataDir: string;
  child: ChildProcess | undefined;
  client: PaxosKvClient;
  stderrTail: string[];
}

const READY_TIMEOUT_MS = 30_000;

/**
 * REPLICA_NODE_FLAGS: the replica's V8 runtime setting, as a Go deployment sets GOGC. A 64 MiB semi-space (the
 * default is 16) lets the short-lived objects of each call and batch die before a scavenge runs, instead of every
 * scavenge copying the hundreds of calls in flight: 256 writers, 4 s rounds, four A/B pairs at load 3-6, three
 * servers' CPU per commit 0.114-0.139 ms against 0.127-0.144 ms, p99 86-97 against 86-117 ms; the leader's RSS
 * grows from ~200 to ~300 MB. A 256 MiB initial old generation: with the default, V8 sized the old space to the
 * small live heap (~20 MB) and ran a full collection about every second as promotions filled it, and the two
 * followers, applying the same commands, collected within milliseconds of each other, leaving the leader without a
 * quorum for 17-19 ms; 64 writers, four A/B pairs at load 2-4: our p99 against etcd's 0.87-1.13x (mean 1.00)
 * against 1.09-1.27x (mean 1.18).
 */
const REPLICA_NODE_FLAGS = ['--max-semi-space-size=64', '--initial-old-space-size=256'];

// Every replica process this process started: if it exits without stop() (a crashed test run), they die with it.
const children = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

export class ReplicaCluster {
  private readonly members = new Map<number, Member>();
  /** leaderHint is the replica that last accepted a put (or was named leader); puts go there first. */
  private leaderHint: number | undefined;

  private constructor(private readonly options: ReplicaClusterOptions) {}

  /** start spawns every replica and waits until each serves. */
  static async start(options: ReplicaClusterOptions): Promise<ReplicaCluster> {
    assert([1, 3, 5].includes(options.size), 'a cluster has 1, 3 or 5 replicas');
    const c = new ReplicaCluster(options);
    for (let id = 1; id <= options.size; id++) {
      const address = `127.0.0.1:${await freePort()}`;
      const clientAddress = options.kvServer === 'grpc-js' ? address : `127.0.0.1:${await freePort()}`;
      const dataDir = join(options.dir, `replica-${id}`);
      mkdirSync(dataDir, { recursive: true });
      const client = new PaxosKvClient(clientAddress, credentials.createInsecure(), PAXOS_GRPC_OPTIONS);
      c.members.set(id, { id, address, clientAddress, dataDir, child: undefined, client, stderrTail: [] });
    }
    try {
      await Promise.all([...c.members.keys()].map((id) => c.spawn(id)));
    } catch (e: unknown) {
      await c.stop();
      throw e;
    }
    return c;
  }

  get ids(): number[] {
    return [...this.members.keys()];
  }

  address(id: number): string {
    return this.member(id).address;
  }

  /** clientAddress is where replica id serves PaxosKv. */
  clientAddress(id: number): string {
    return this.member(id).clientAddress;
  }

  pid(id: number): number | undefined {
    return this.member(id).child?.pid;
  }

  stderrTail(id: number): string {
    return this.member(id).stderrTail.join('\n');
  }

  private member(id: number): Member {
    const m = this.members.get(id);
    assert(m !== undefined, `no replica ${id}`);
    return m;
  }

  private spawn(id: number): Promise<void> {
    const m = this.member(id);
    assert(m.child === undefined, `replica ${id} is already running`);
    const replicas = [...this.members.values()].map((x) => `${x.id}=${x.address}`).join(',');
    const clients = [...this.members.values()].map((x) => `${x.id}=${x.clientAddress}`).join(',');
    const clientFlags = this.options.kvServer === 'grpc-js' ? [] : ['--clients', clients];
    const child = spawn(
      process.execPath,
      // BORG_REPLICA_NODE_OPTIONS adds flags for the replica's node (e.g. --cpu-prof when profiling the benchmark).
      [...REPLICA_NODE_FLAGS, ...(process.env.BORG_REPLICA_NODE_OPTIONS ?? '').split(' ').filter((x) => x !== ''), '--import', 'tsx', REPLICA_MAIN, '--id', String(id), '--replicas', replicas, ...clientFlags, '--data', m.dataDir, ...(this.options.extraArgs ?? [])],
      { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    m.child = child;
    children.add(child);
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      for (const line of chunk.split('\n')) {
        if (line === '') continue;
        m.stderrTail.push(line);
        if (m.stderrTail.length > 50) m.stderrTail.shift();
        this.options.log?.(id, line);
      }
    });
    child.on('exit', () => {
      children.delete(child);
      if (m.child === child) m.child = undefined;
    });
    return new Promise<void>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`replica ${id} not ready after ${READY_TIMEOUT_MS} ms: ${m.stderrTail.join('\n')}`)), READY_TIMEOUT_MS);
      child.stdout?.setEncoding('utf8');
      let ready = false;
      child.stdout?.on('data', (chunk: string) => {
        // After `ready`, stdout (node's --trace-gc, say) goes to the log like stderr, and is not kept.
        if (ready) {
          for (const line of chunk.split('\n')) if (line !== '') this.options.log?.(id, line);
          return;
        }
        out += chunk;
        if (out.includes('ready ')) {
          ready = true;
          out = '';
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`replica ${id} exited (${code ?? signal}) before it was ready: ${m.stderrTail.join('\n')}`));
      });
    });
  }

  /** kill sends SIGKILL (no chance to flush anything) and waits for the process to be gone. */
  async kill(id: number): Promise<void> {
    const child = this.member(id).child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGKILL');
    await gone;
  }

  /** restart starts a stopped or killed replica again on the same address and data directory. */
  async restart(id: number): Promise<void> {
    await this.spawn(id);
  }

  running(id: number): boolean {
    return this.member(id).child !== undefined;
  }

  async status(id: number, timeoutMs = 1_000): Promise<KvStatusResponse> {
    const c = this.member(id).client;
    return invoke(c.status.bind(c), {}, new Metadata(), timeoutMs);
  }

  /** waitForLeader polls until one running replica says it leads with a live lease; returns its id. */
  async waitForLeader(timeoutMs = 15_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      for (const id of this.ids) {
        if (!this.running(id)) continue;
        try {
          const s = await this.status(id, 500);
          if (s.role === 'leader' && s.leaseValid) {
            this.leaderHint = id;
            return id;
          }
        } catch {
          // not up yet
        }
      }
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Unavailable(`no leader within ${timeoutMs} ms`);
  }

  /** waitApplied polls until every running replica has applied at least index. */
  async waitApplied(index: number, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (const id of this.ids) {
      for (;;) {
        try {
          if ((await this.status(id, 500)).appliedIndex >= index) break;
        } catch {
          // restarting
        }
        if (Date.now() > deadline) throw new Unavailable(`replica ${id} has not applied ${index} within ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 25));
      }
    }
  }

  /**
   * put sends one write to the replica believed to lead and follows NotLeader redirects; on an unreachable or
   * leaderless replica it tries the next one. It resolves with the slot once a leader acknowledged the write,
   * and rejects with the last error after timeoutMs. A write that timed out may still be chosen later.
   */
  async put(key: string, value: Uint8Array, timeoutMs = 5_000, attemptTimeoutMs = 1_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    let target = this.leaderHint ?? 1;
    let last: unknown = new Unavailable('no attempt');
    while (Date.now() < deadline) {
      const c = this.member(target).client;
      try {
        const r = await invoke(c.put.bind(c), { key, value: Buffer.from(value) }, new Metadata(), Math.min(attemptTimeoutMs, deadline - Date.now()));
        this.leaderHint = target;
        return r.index;
      } catch (e: unknown) {
        last = e;
        const hinted = e instanceof NotLeader && e.leaderAddress ? this.idOf(e.leaderAddress) : undefined;
        if (hinted !== undefined && hinted !== target) {
          target = hinted;
          continue;
        }
        // No hint (election in progress) or the replica is down: try the next one after a short pause.
        target = (target % this.members.size) + 1;
        await new Promise((r) => setTimeout(r, 10));
      }
    }
    throw last instanceof BorgError ? last : new Unavailable(`put ${key} timed out`, { cause: last });
  }

  /**
   * putOnce is a single Put attempt at the replica believed to lead, no retry: NotLeader moves the target to the
   * named leader, any other failure to the next replica, for the caller's next attempt. Resolves with the slot.
   */
  async putOnce(key: string, value: Uint8Array, timeoutMs: number): Promise<number> {
    const target = this.leaderHint ?? 1;
    const c = this.member(target).client;
    try {
      const r = await invoke(c.put.bind(c), { key, value: Buffer.from(value) }, new Metadata(), timeoutMs);
      return r.index;
    } catch (e: unknown) {
      if (this.leaderHint === target || this.leaderHint === undefined) {
        const hinted = e instanceof NotLeader && e.leaderAddress ? this.idOf(e.leaderAddress) : undefined;
        this.leaderHint = hinted !== undefined && hinted !== target ? hinted : (target % this.members.size) + 1;
      }
      throw e;
    }
  }

  private idOf(address: string): number | undefined {
    for (const m of this.members.values()) if (m.clientAddress === address || m.address === address) return m.id;
    return undefined;
  }

  /** history reads every write replica id applied, in log order, page by page. */
  async history(id: number): Promise<{ writes: KvApplied[]; firstKeptIndex: number; appliedIndex: number }> {
    const c = this.member(id).client;
    const writes: KvApplied[] = [];
    let from = 0;
    let firstKeptIndex = 0;
    let appliedIndex = 0;
    for (;;) {
      const page = await invoke(c.history.bind(c), { fromIndex: from, limit: 0 }, new Metadata(), 5_000);
      if (from === 0) firstKeptIndex = page.firstKeptIndex;
      appliedIndex = page.appliedIndex;
      writes.push(...page.writes);
      const last = page.writes.at(-1);
      if (last === undefined) break;
      from = last.index + 1;
    }
    return { writes, firstKeptIndex, appliedIndex };
  }

  /** stop ends every replica (SIGKILL: their state is on disk; the caller removes dir) and closes clients. */
  async stop(): Promise<void> {
    await Promise.all(this.ids.map((id) => this.kill(id)));
    for (const m of this.members.values()) m.client.close();
  }
}
