// A standalone Paxos replica process: the log (PaxosNode: LevelDB + gRPC + core) driving a tiny key-value state
// machine, served with the PaxosKv client service (on its own client port with --clients, else beside Paxos).
// The real-process kill test and `npm run bench -- paxos` run three of these on loopback.
//
//   node --max-semi-space-size=64 --import tsx borgmaster/paxos/replica_main.ts --id 1 --replicas 1=127.0.0.1:7401,2=...,3=... --data DIR
//        [--tick-ms 50] [--election-ticks 10] [--heartbeat-ticks 2] [--lease-ticks 8] [--max-clock-drift 0.05]
//        [--snapshot-every N] [--seed S] [--clients 1=127.0.0.1:7501,2=...,3=...]
//
// The semi-space flag is the replica's runtime setting (replica_cluster.ts says why); it runs without it too.
// With --clients, the PaxosKv client service listens on this replica's client address (grpc_unary_server.ts,
// gRPC served on node:http2), apart from the Paxos peer address, as etcd separates client and peer URLs; NotLeader
// hints then name the leader's client address. Without it, PaxosKv shares the grpc-js server with Paxos.
//
// It prints `ready <address>` on stdout once it serves, exits 0 on SIGTERM/SIGINT, 1 on a fatal error, 2 on bad
// flags, and 3 when its disk fails verification (it refuses to serve rather than vote wrongly).
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Server, ServerCredentials } from '@grpc/grpc-js';
import type { PaxosConfig } from '../../cells/config';
import { assert } from '../../model/assert';
import { InvalidArgument } from '../../model/errors';
import { PaxosNode } from './node';
import { KvStateMachine, serveKv, serveKvUnary } from './replica_kv';
import { UnaryGrpcServer } from './grpc_unary_server';
import { PAXOS_HTTP2_WINDOW_BYTES, PAXOS_KV_MAX_CONCURRENT_STREAMS } from '../../cells/limits';
import { StorageCorrupt } from './storage';
import { PAXOS_GRPC_OPTIONS, type PeerAddress } from './transport';
import { listenNoDelay, splitHostPort } from './grpc_listen';

interface ReplicaFlags {
  id: number;
  replicas: PeerAddress[];
  /** clients: each replica's client-service address (same ids as replicas), when the service has its own port. */
  clients: PeerAddress[] | undefined;
  dataDir: string;
  timing: PaxosConfig;
  snapshotEveryEntries: number | undefined;
  seed: number | undefined;
}

/** parseReplicaFlags reads the command line; InvalidArgument names the flag. */
function parseReplicaFlags(argv: string[]): ReplicaFlags {
  const { values } = parseArgs({
    args: argv,
    options: {
      id: { type: 'string' },
      replicas: { type: 'string' },
      data: { type: 'string' },
      'tick-ms': { type: 'string', default: '50' },
      'election-ticks': { type: 'string', default: '10' },
      'heartbeat-ticks': { type: 'string', default: '2' },
      'lease-ticks': { type: 'string', default: '8' },
      'max-clock-drift': { type: 'string', default: '0.05' },
      'snapshot-every': { type: 'string' },
      seed: { type: 'string' },
      clients: { type: 'string' },
    },
    strict: true,
  });
  const int = (name: string, v: string | undefined, min: number): number => {
    if (v === undefined) throw new InvalidArgument(`--${name}`, 'required');
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n < min) throw new InvalidArgument(`--${name}`, `must be an integer >= ${min}, got ${JSON.stringify(v)}`);
    return n;
  };
  const addresses = (flag: string, v: string): PeerAddress[] =>
    v.split(',').filter((s) => s !== '').map((s, i): PeerAddress => {
      const m = /^(\d+)=([^,=\s]+:\d+)$/.exec(s);
      if (!m) throw new InvalidArgument(`--${flag}[${i}]`, `expected ID=HOST:PORT, got ${JSON.stringify(s)}`);
      return { id: Number(m[1]), address: m[2] as string };
    });
  const replicas = addresses('replicas', values.replicas ?? '');
  if (![1, 3, 5].includes(replicas.length)) throw new InvalidArgument('--replicas', `a cell has 1, 3 or 5 replicas, got ${replicas.length}`);
  if (new Set(replicas.map((r) => r.id)).size !== replicas.length) throw new InvalidArgument('--replicas', 'ids must be distinct');
  const id = int('id', values.id, 1);
  if (!replicas.some((r) => r.id === id)) throw new InvalidArgument('--id', `${id} is not among --replicas`);
  if (!values.data) throw new InvalidArgument('--data', 'required');
  const clients = values.clients === undefined ? undefined : addresses('clients', values.clients);
  if (clients !== undefined) {
    const ids = (xs: PeerAddress[]): string => xs.map((r) => r.id).sort((a, b) => a - b).join(',');
    if (ids(clients) !== ids(replicas)) throw new InvalidArgument('--clients', `must list the same ids as --replicas (${ids(replicas)}), got ${ids(clients)}`);
    const used = new Set(replicas.map((r) => r.address));
    for (const c of clients) if (used.has(c.address)) throw new InvalidArgument('--clients', `${c.address} is also a Paxos peer address`);
  }
  const drift = Number(values['max-clock-drift']);
  if (!(drift >= 0 && drift < 0.5)) throw new InvalidArgument('--max-clock-drift', 'must be in [0, 0.5)');
  const timing: PaxosConfig = {
    tickMs: int('tick-ms', values['tick-ms'], 1),
    electionTicks: int('election-ticks', values['election-ticks'], 2),
    heartbeatTicks: int('heartbeat-ticks', values['heartbeat-ticks'], 1),
    leaseTicks: int('lease-ticks', values['lease-ticks'], 1),
    maxClockDrift: drift,
  };
  if (timing.heartbeatTicks >= timing.electionTicks) throw new InvalidArgument('--heartbeat-ticks', 'must be below --election-ticks');
  if (timing.leaseTicks >= timing.electionTicks) throw new InvalidArgument('--lease-ticks', 'must be below --election-ticks');
  return {
    id,
    replicas,
    clients,
    dataDir: values.data,
    timing,
    snapshotEveryEntries: values['snapshot-every'] === undefined ? undefined : int('snapshot-every', values['snapshot-every'], 1),
    seed: values.seed === undefined ? undefined : int('seed', values.seed, 0),
  };
}

async function main(): Promise<void> {
  let flags: ReplicaFlags;
  try {
    flags = parseReplicaFlags(process.argv.slice(2));
  } catch (e: unknown) {
    console.error(e instanceof Error ? e.message : String(e));
    process.exit(2);
  }
  const self = flags.replicas.find((r) => r.id === flags.id);
  assert(self !== undefined, 'parseReplicaFlags checked membership');
  const kv = new KvStateMachine();
  let node: PaxosNode<void>;
  try {
    node = await PaxosNode.open({
      id: flags.id,
      replicas: flags.replicas,
      dataDir: flags.dataDir,
      timing: flags.timing,
      stateMachine: kv,
      ...(flags.seed === undefined ? {} : { seed: flags.seed }),
      ...(flags.snapshotEveryEntries === undefined ? {} : { snapshotEveryEntries: flags.snapshotEveryEntries }),
      onFatal: (e) => {
        console.error(`replica ${flags.id}: fatal:`, e);
        process.exit(1);
      },
    });
  } catch (e: unknown) {
    if (e instanceof StorageCorrupt) {
      console.error(e.message);
      process.exit(3);
    }
    throw e;
  }
  const server = new Server(PAXOS_GRPC_OPTIONS);
  node.registerService(server);
  const clients = flags.clients;
  const selfClient = clients?.find((c) => c.id === flags.id);
  let kvServer: UnaryGrpcServer | undefined;
  if (clients !== undefined && selfClient !== undefined) {
    const clientOfPeer = new Map(flags.replicas.map((r) => [r.address, clients.find((c) => c.id === r.id)?.address]));
    kvServer = new UnaryGrpcServer({ maxConcurrentStreams: PAXOS_KV_MAX_CONCURRENT_STREAMS, windowBytes: PAXOS_HTTP2_WINDOW_BYTES });
    serveKvUnary(kvServer, node, kv, { id: flags.id, clientAddressOf: (peer) => clientOfPeer.get(peer) });
    const { host, port } = splitHostPort(selfClient.address);
    await kvServer.listen(host, port);
  } else {
    serveKv(server, node, kv, flags.id);
  }
  // TCP_NODELAY on the replica's own sockets (grpc_listen.ts): Nagle would hold small responses for a delayed ACK.
  // Wide HTTP/2 windows: a batch of ACCEPTs above 64 KiB must not wait mid-message for a window update.
  const listener = await listenNoDelay(server, self.address, ServerCredentials.createInsecure(), { windowBytes: PAXOS_HTTP2_WINDOW_BYTES });
  process.stdout.write(`ready ${self.address}\n`);
  const shutdown = (): void => {
    void listener.close();
    void kvServer?.close();
    server.forceShutdown();
    void node.close().then(() => process.exit(0));
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
  const profileDir = process.env.BORG_REPLICA_PROFILE_DIR;
  if (profileDir) profileOnSignal(profileDir, flags.id);
}

/**
 * profileOnSignal: with BORG_REPLICA_PROFILE_DIR set, the first SIGUSR2 starts the V8 CPU profiler and the next
 * writes DIR/replica-ID-N.cpuprofile (steady-state profiles for the benchmark, without start-up in them).
 */
function profileOnSignal(dir: string, id: number): void {
  const session = new Session();
  session.connect();
  let on = false;
  let n = 0;
  process.on('SIGUSR2', () => {
    if (!on) {
      on = true;
      session.post('Profiler.enable', () => session.post('Profiler.start'));
      return;
    }
    on = false;
    session.post('Profiler.stop', (err, res) => {
      if (!err) writeFileSync(join(dir, `replica-${id}-${n++}.cpuprofile`), JSON.stringify(res.profile));
    });
  });
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
