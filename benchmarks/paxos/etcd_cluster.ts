// EtcdCluster runs a 3-member etcd cluster (Debian's /usr/bin/etcd, its default timing) on loopback as real
// processes, and writes to it through etcd's gRPC KV.Put with @grpc/grpc-js (messages from etcd_rpc.proto).
// The Paxos benchmark puts it beside our replicas under the same load from the same client process.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Metadata, credentials, type ServiceError } from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import { PAXOS_GRPC_OPTIONS } from '../../borgmaster/paxos/transport';
import { freePort } from '../../borgmaster/paxos/replica_cluster';

export const ETCD_BINARY = process.env.ETCD_BINARY ?? '/usr/bin/etcd';

const root = protobuf.loadSync(fileURLToPath(new URL('./etcd_rpc.proto', import.meta.url)));
const PutRequest = root.lookupType('etcdserverpb.PutRequest');
const PutResponse = root.lookupType('etcdserverpb.PutResponse');
const StatusRequest = root.lookupType('etcdserverpb.StatusRequest');
const StatusResponse = root.lookupType('etcdserverpb.StatusResponse');

function serializer(t: protobuf.Type): (v: Record<string, unknown>) => Buffer {
  return (v) => Buffer.from(t.encode(t.create(v)).finish());
}

function deserializer(t: protobuf.Type): (b: Buffer) => Record<string, unknown> {
  // 64-bit ids (member ids) exceed 2^53: keep them as decimal strings.
  return (b) => t.toObject(t.decode(b), { longs: String, defaults: true }) as Record<string, unknown>;
}

interface Member {
  name: string;
  clientPort: number;
  peerPort: number;
  dataDir: string;
  child: ChildProcess | undefined;
  client: Client;
  stderrTail: string[];
}

const children = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

export class EtcdCluster {
  private target = 0;

  private constructor(
    private readonly members: Member[],
    private readonly token: string,
  ) {}

  /** start launches size members in dir (one data dir each) and waits until a leader is elected. */
  static async start(dir: string, size = 3): Promise<EtcdCluster> {
    const members: Member[] = [];
    for (let i = 0; i < size; i++) {
      const clientPort = await freePort();
      const peerPort = await freePort();
      const dataDir = join(dir, `etcd-${i + 1}`);
      mkdirSync(dataDir, { recursive: true });
      const client = new Client(`127.0.0.1:${clientPort}`, credentials.createInsecure(), PAXOS_GRPC_OPTIONS);
      members.push({ name: `m${i + 1}`, clientPort, peerPort, dataDir, child: undefined, client, stderrTail: [] });
    }
    const c = new EtcdCluster(members, `bench-${process.pid}-${Date.now()}`);
    for (let i = 0; i < size; i++) c.spawn(i);
    try {
      await c.waitForLeader(30_000);
    } catch (e: unknown) {
      await c.stop();
      throw e;
    }
    return c;
  }

  get size(): number {
    return this.members.length;
  }

  private spawn(i: number): void {
    const m = this.members[i];
    if (!m) throw new Error(`no etcd member ${i}`);
    const cluster = this.members.map((x) => `${x.name}=http://127.0.0.1:${x.peerPort}`).join(',');
    // Timing, snapshot and fsync settings stay at etcd's defaults (heartbeat 100 ms, election 1000 ms).
    const child = spawn(
      ETCD_BINARY,
      [
        '--name', m.name,
        '--data-dir', m.dataDir,
        '--listen-client-urls', `http://127.0.0.1:${m.clientPort}`,
        '--advertise-client-urls', `http://127.0.0.1:${m.clientPort}`,
        '--listen-peer-urls', `http://127.0.0.1:${m.peerPort}`,
        '--initial-advertise-peer-urls', `http://127.0.0.1:${m.peerPort}`,
        '--initial-cluster', cluster,
        '--initial-cluster-state', 'new',
        '--initial-cluster-token', this.token,
        '--logger', 'zap',
        '--log-level', 'error',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    m.child = child;
    children.add(child);
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      for (const line of chunk.split('\n')) {
        if (line === '') continue;
        m.stderrTail.push(line);
        if (m.stderrTail.length > 30) m.stderrTail.shift();
      }
    });
    child.on('exit', () => {
      children.delete(child);
      if (m.child === child) m.child = undefined;
    });
  }

  pid(i: number): number | undefined {
    return this.members[i]?.child?.pid;
  }

  running(i: number): boolean {
    return this.members[i]?.child !== undefined;
  }

  private unary(m: Member, path: string, req: Record<string, unknown>, reqType: protobuf.Type, resType: protobuf.Type, timeoutMs: number): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      m.client.makeUnaryRequest(path, serializer(reqType), deserializer(resType), req, new Metadata(), { deadline: Date.now() + timeoutMs }, (err: ServiceError | null, res?: Record<string, unknown>) => {
        if (err || !res) reject(err ?? new Error('empty response'));
        else resolve(res);
      });
    });
  }

  /** leaderIndex asks member i who leads; it returns the leader's index in members, or undefined. */
  async leaderIndex(i: number, timeoutMs = 500): Promise<number | undefined> {
    const m = this.members[i];
    if (!m) return undefined;
    const s = await this.unary(m, '/etcdserverpb.Maintenance/Status', {}, StatusRequest, StatusResponse, timeoutMs);
    const leader = String(s.leader ?? '0');
    if (leader === '0') return undefined;
    // Each member reports its own id in its response header; ask them all to map the leader's id to a member.
    for (let j = 0; j < this.members.length; j++) {
      const mj = this.members[j];
      if (!mj || mj.child === undefined) continue;
      try {
        const sj = await this.unary(mj, '/etcdserverpb.Maintenance/Status', {}, StatusRequest, StatusResponse, timeoutMs);
        const header = sj.header as { memberId?: string } | undefined;
        if (header?.memberId === leader) return j;
      } catch {
        // that member is down
      }
    }
    return undefined;
  }

  /** waitForLeader polls running members until one names a leader that is up; it becomes the put target. */
  async waitForLeader(timeoutMs = 15_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      for (let i = 0; i < this.members.length; i++) {
        if (!this.running(i)) continue;
        try {
          const l = await this.leaderIndex(i);
          if (l !== undefined && this.running(l)) {
            this.target = l;
            return l;
          }
        } catch {
          // starting
        }
      }
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`etcd: no leader within ${timeoutMs} ms: ${this.members.map((m) => m.stderrTail.slice(-3).join(' | ')).join(' || ')}`);
  }

  /** putOnce is one KV.Put attempt to the current target; on failure the next attempt goes to the next member. */
  async putOnce(key: string, value: Uint8Array, timeoutMs: number): Promise<void> {
    const i = this.target;
    const m = this.members[i];
    if (!m) throw new Error('no etcd member');
    try {
      await this.unary(m, '/etcdserverpb.KV/Put', { key: Buffer.from(key), value }, PutRequest, PutResponse, timeoutMs);
    } catch (e: unknown) {
      if (this.target === i) this.target = (i + 1) % this.members.length;
      throw e;
    }
  }

  async kill(i: number): Promise<void> {
    const child = this.members[i]?.child;
    if (!child) return;
    const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGKILL');
    await gone;
  }

  /** restart starts member i again on its data dir and waits until it answers Status. */
  async restart(i: number, timeoutMs = 15_000): Promise<void> {
    this.spawn(i);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        if ((await this.leaderIndex(i)) !== undefined) return;
      } catch {
        // not up yet
      }
      if (Date.now() > deadline) throw new Error(`etcd member ${i + 1} did not come back: ${this.members[i]?.stderrTail.join('\n')}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  async stop(): Promise<void> {
    await Promise.all(this.members.map((_, i) => this.kill(i)));
    for (const m of this.members) m.client.close();
  }
}
