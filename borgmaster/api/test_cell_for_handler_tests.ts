// FOR HANDLER TESTS ONLY: two Masters (replica 1 leads, replica 2 follows) on the in-process test log, each
// behind a real gRPC server with mutual TLS from a throwaway CA, with machines and quotas bootstrapped, plus
// clients for a few identities. Cleans up its servers, clients and temp dir in close().
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Metadata, type ServiceError } from '@grpc/grpc-js';
import { BorgMasterClient, CHANNEL_OPTIONS, PriorityBand, invoke } from '../../proto/index';
import { systemClock } from '../../model/clock';
import { GiB } from '../../model/resources';
import { ensureCellCa, issueCert, clientCredentials, type IssuedCert } from '../../cells/security/index';
import { bootstrapCommands, encodeCommand } from '../state/index';
import { Master } from './master';
import { startMasterServer, type MasterServer } from './service';
import { InProcessLogForHandlerTests } from './test_log_for_handler_tests';

export const TEST_CELL = 'test';
export const IDENTITIES = ['alice', 'bob', 'root', 'sched'] as const;
export type Identity = (typeof IDENTITIES)[number];

export interface HandlerTestCell {
  log: InProcessLogForHandlerTests;
  leader: Master;
  follower: Master;
  servers: [MasterServer, MasterServer];
  client(who: Identity, replica?: 0 | 1): BorgMasterClient;
  close(): Promise<void>;
}

export async function startHandlerTestCell(options: { bufferEvents?: number } = {}): Promise<HandlerTestCell> {
  const dir = await mkdtemp(join(tmpdir(), 'borg-api-test-'));
  const clients: BorgMasterClient[] = [];
  const servers: MasterServer[] = [];
  try {
    const ca = await ensureCellCa(join(dir, 'ca'), TEST_CELL);
    const certs = new Map<string, IssuedCert>();
    const roles = { 'replica-1': ['replica'], alice: ['user'], bob: ['user'], root: ['user'], sched: ['scheduler'] } as const;
    for (const [cn, r] of Object.entries(roles)) certs.set(cn, await issueCert(ca, cn, r, join(dir, 'certs')));
    const log = new InProcessLogForHandlerTests();
    const mk = (id: number) => new Master({ cell: TEST_CELL, replicaId: id, log: log.view(id), clock: systemClock, admins: ['root'], watch: { bufferEvents: options.bufferEvents ?? 50 } });
    const leader = mk(1);
    const follower = mk(2);
    log.attach(1, leader, '');
    log.attach(2, follower, '');
    const tls = certs.get('replica-1') as IssuedCert;
    servers.push(await startMasterServer(leader, tls), await startMasterServer(follower, tls));
    log.setAddress(1, (servers[0] as MasterServer).address);
    log.setAddress(2, (servers[1] as MasterServer).address);
    const machines = ['m0', 'm1', 'm2'].map((name, i) => ({
      name,
      address: `127.0.0.1:${7300 + i}`,
      capacity: { cpuMillis: 4000, ramBytes: 16 * GiB, diskBytes: 100 * GiB, ports: 100 },
      attributes: { os: 'linux' },
      rack: `rack-${i}`,
      powerDomain: 'power-0',
      portBase: 20_000,
    }));
    const quotas = [
      { user: 'alice', band: PriorityBand.PRODUCTION, limit: { cpuMillis: 4000, ramBytes: 8 * GiB, diskBytes: 0, ports: 10 } },
      { user: 'alice', band: PriorityBand.BEST_EFFORT, limit: { cpuMillis: 8000, ramBytes: 32 * GiB, diskBytes: 0, ports: 100 } },
      { user: 'bob', band: PriorityBand.PRODUCTION, limit: { cpuMillis: 4000, ramBytes: 8 * GiB, diskBytes: 0, ports: 10 } },
    ];
    log.appendDirect(bootstrapCommands({ machines, quotas }, Date.now()).map(encodeCommand));
    return {
      log,
      leader,
      follower,
      servers: [servers[0] as MasterServer, servers[1] as MasterServer],
      client(who: Identity, replica: 0 | 1 = 0) {
        const c = new BorgMasterClient((servers[replica] as MasterServer).address, clientCredentials(certs.get(who) as IssuedCert), CHANNEL_OPTIONS);
        clients.push(c);
        return c;
      },
      async close() {
        for (const c of clients) c.close();
        await Promise.all(servers.map((s) => s.close()));
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (e: unknown) {
    for (const c of clients) c.close();
    await Promise.all(servers.map((s) => s.close()));
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
}

type Method<Req, Res> = (req: Req, md: Metadata, opts: object, cb: (err: ServiceError | null, res: Res) => void) => unknown;

/** call invokes a unary method of a client with a deadline; failures are BorgErrors (proto/rpc invoke). */
export function call<Req, Res>(c: BorgMasterClient, method: Method<Req, Res>, req: Req): Promise<Res> {
  return invoke(method.bind(c) as Parameters<typeof invoke<Req, Res>>[0], req, new Metadata(), 10_000);
}
