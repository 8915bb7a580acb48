// The cell client every live `borg` command uses. It knows the cell's replicas (from the cell config or
// --master), reads from whichever replica answers, sends writes to the elected master (following the
// `borg-leader` redirect a follower answers with), and retries a write on unavailability with the SAME request
// id, so the master applies it once however often it is sent. Every operation has one deadline, and running
// out of it names each replica tried and why it failed.
import { Metadata, type ChannelCredentials } from '@grpc/grpc-js';
import { loadCellConfig, type CellConfig } from '../../cells/config';
import { BorgError, NotLeader, fromGrpcError } from '../../model/errors';
import { validateName } from '../../model/ids';
import { clientCredentials, type TlsMaterial } from '../../cells/security/index';
import {
  BorgMasterClient,
  CHANNEL_OPTIONS,
  invoke,
  type CellStatusRequest,
  type CellStatusResponse,
  type CreateJobRequest,
  type CreateJobResponse,
  type DrainMachineRequest,
  type DrainMachineResponse,
  type GetJobRequest,
  type GetJobResponse,
  type GetTaskRequest,
  type GetTaskResponse,
  type KillJobRequest,
  type KillJobResponse,
  type ListEventsRequest,
  type ListEventsResponse,
  type ListJobsRequest,
  type ListJobsResponse,
  type ListMachinesRequest,
  type ListMachinesResponse,
  type ListQuotasRequest,
  type ListQuotasResponse,
  type ListTasksRequest,
  type ListTasksResponse,
  type SaveCheckpointRequest,
  type SaveCheckpointResponse,
  type SetQuotaRequest,
  type SetQuotaResponse,
  type TaskLogsRequest,
  type TaskLogsResponse,
  type UndrainMachineRequest,
  type UndrainMachineResponse,
  type UpdateJobRequest,
  type UpdateJobResponse,
} from '../../proto/index';
import { userCredentials } from './credentials';

export const DEFAULT_CELL_FILE = 'cells/local.yaml';
export const DEFAULT_USER = 'ubar';
/** DEFAULT_TIMEOUT_MS bounds one operation, all retries included; the master's own propose timeout is 10 s. */
export const DEFAULT_TIMEOUT_MS = 20_000;
/** ATTEMPT_TIMEOUT_MS bounds one RPC; a write cut off here is retried with its request id, so it stays safe. */
export const ATTEMPT_TIMEOUT_MS = 12_000;
const BACKOFF_MIN_MS = 50;
const BACKOFF_MAX_MS = 1_000;

/** Rpc is one unary method of the BorgMaster service, bound by name so the client can send it anywhere. */
export interface Rpc<Req, Res> {
  name: string;
  call(c: BorgMasterClient, req: Req, md: Metadata, timeoutMs: number): Promise<Res>;
}

type Bound<Req, Res> = Parameters<typeof invoke<Req, Res>>[0];
function rpc<Req, Res>(name: string, pick: (c: BorgMasterClient) => Bound<Req, Res>): Rpc<Req, Res> {
  return { name, call: (c, req, md, timeoutMs) => invoke(pick(c), req, md, timeoutMs) };
}

/** RPCS lists the methods the CLI calls; `.bind(c)` keeps grpc-js's `this`. */
export const RPCS = {
  createJob: rpc<CreateJobRequest, CreateJobResponse>('CreateJob', (c) => c.createJob.bind(c)),
  updateJob: rpc<UpdateJobRequest, UpdateJobResponse>('UpdateJob', (c) => c.updateJob.bind(c)),
  killJob: rpc<KillJobRequest, KillJobResponse>('KillJob', (c) => c.killJob.bind(c)),
  getJob: rpc<GetJobRequest, GetJobResponse>('GetJob', (c) => c.getJob.bind(c)),
  listJobs: rpc<ListJobsRequest, ListJobsResponse>('ListJobs', (c) => c.listJobs.bind(c)),
  listTasks: rpc<ListTasksRequest, ListTasksResponse>('ListTasks', (c) => c.listTasks.bind(c)),
  getTask: rpc<GetTaskRequest, GetTaskResponse>('GetTask', (c) => c.getTask.bind(c)),
  listMachines: rpc<ListMachinesRequest, ListMachinesResponse>('ListMachines', (c) => c.listMachines.bind(c)),
  drainMachine: rpc<DrainMachineRequest, DrainMachineResponse>('DrainMachine', (c) => c.drainMachine.bind(c)),
  undrainMachine: rpc<UndrainMachineRequest, UndrainMachineResponse>('UndrainMachine', (c) => c.undrainMachine.bind(c)),
  setQuota: rpc<SetQuotaRequest, SetQuotaResponse>('SetQuota', (c) => c.setQuota.bind(c)),
  listQuotas: rpc<ListQuotasRequest, ListQuotasResponse>('ListQuotas', (c) => c.listQuotas.bind(c)),
  listEvents: rpc<ListEventsRequest, ListEventsResponse>('ListEvents', (c) => c.listEvents.bind(c)),
  cellStatus: rpc<CellStatusRequest, CellStatusResponse>('CellStatus', (c) => c.cellStatus.bind(c)),
  taskLogs: rpc<TaskLogsRequest, TaskLogsResponse>('TaskLogs', (c) => c.taskLogs.bind(c)),
  saveCheckpoint: rpc<SaveCheckpointRequest, SaveCheckpointResponse>('SaveCheckpoint', (c) => c.saveCheckpoint.bind(c)),
} as const;

/** Next is what the client does after a failed attempt (a pure decision, table-tested). */
export type Next = { kind: 'redirect'; address: string } | { kind: 'retry' } | { kind: 'fail' };

/**
 * afterFailure decides what follows a failed attempt. A follower's redirect is followed at once (unless it
 * points back at the replica that sent it); unavailability and deadlines move on to another replica after a
 * back-off, with the same request; anything else (bad input, refusals, not found) is the answer.
 */
export function afterFailure(e: BorgError, triedAddress: string): Next {
  switch (e.code) {
    case 'not_leader':
      if (e instanceof NotLeader && e.leaderAddress !== undefined && e.leaderAddress !== '' && e.leaderAddress !== triedAddress) return { kind: 'redirect', address: e.leaderAddress };
      // No leader known (an election is running): wait and ask around.
      return { kind: 'retry' };
    case 'unavailable':
    case 'deadline_exceeded':
      return { kind: 'retry' };
    case 'invalid_argument':
    case 'not_found':
    case 'already_exists':
    case 'permission_denied':
    case 'unauthenticated':
    case 'resource_exhausted':
    case 'failed_precondition':
    case 'aborted':
    case 'internal':
      return { kind: 'fail' };
  }
}

/** backoffMs doubles from BACKOFF_MIN_MS up to BACKOFF_MAX_MS with the number of consecutive failures. */
export function backoffMs(failures: number): number {
  return Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** Math.min(failures, 10));
}

export interface ClientOptions {
  timeoutMs?: number;
  attemptTimeoutMs?: number;
  /** onRetry hears about every failed attempt that is retried (for --verbose and tests). */
  onRetry?: (what: { rpc: string; address: string; error: BorgError; next: Next }) => void;
}

export class CellClient {
  private readonly stubs = new Map<string, BorgMasterClient>();
  private readonly addresses: string[];
  /** leader is the replica that last accepted a write or named itself the leader. */
  private leader: string | undefined;
  /** readFrom is the replica that last answered; reads stick to it. */
  private readFrom = 0;
  readonly timeoutMs: number;
  private readonly attemptTimeoutMs: number;

  constructor(
    readonly cell: string,
    readonly user: string,
    addresses: readonly string[],
    private readonly credentials: ChannelCredentials,
    private readonly options: ClientOptions = {},
  ) {
    if (addresses.length === 0) throw new BorgError('invalid_argument', 'a cell client needs at least one replica address');
    this.addresses = [...new Set(addresses)];
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.attemptTimeoutMs = options.attemptTimeoutMs ?? ATTEMPT_TIMEOUT_MS;
  }

  get replicaAddresses(): readonly string[] {
    return this.addresses;
  }

  private stub(address: string): BorgMasterClient {
    let s = this.stubs.get(address);
    if (s === undefined) {
      s = new BorgMasterClient(address, this.credentials, CHANNEL_OPTIONS);
      this.stubs.set(address, s);
    }
    return s;
  }

  /** once sends one RPC to one replica, no retries (the `cell` command asks every replica itself). */
  once<Req, Res>(address: string, r: Rpc<Req, Res>, req: Req, timeoutMs = this.attemptTimeoutMs): Promise<Res> {
    return r.call(this.stub(address), req, new Metadata(), timeoutMs);
  }

  /** read asks any replica, starting with the one that answered last, moving on when one is unavailable. */
  read<Req, Res>(r: Rpc<Req, Res>, req: Req): Promise<Res> {
    return this.run(r, req, 'read');
  }

  /** write sends to the leader, following redirects and retrying the identical request (same request id). */
  write<Req extends { requestId: string }, Res>(r: Rpc<Req, Res>, req: Req): Promise<Res> {
    if (req.requestId === '') throw new BorgError('invalid_argument', `${r.name} needs a request id`);
    return this.run(r, req, 'write');
  }

  private async run<Req, Res>(r: Rpc<Req, Res>, req: Req, mode: 'read' | 'write'): Promise<Res> {
    const deadline = Date.now() + this.timeoutMs;
    const lastError = new Map<string, string>();
    let target = mode === 'write' && this.leader !== undefined ? this.leader : (this.addresses[this.readFrom % this.addresses.length] as string);
    let failures = 0;
    let redirects = 0;
    for (;;) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw this.unreachable(r.name, lastError);
      try {
        const res = await r.call(this.stub(target), req, new Metadata(), Math.min(this.attemptTimeoutMs, remaining));
        if (mode === 'write') this.leader = target;
        else this.readFrom = Math.max(0, this.addresses.indexOf(target));
        return res;
      } catch (e: unknown) {
        const err = fromGrpcError(e);
        const next = afterFailure(err, target);
        if (next.kind === 'fail') throw err;
        // grpc-js appends an empty "Resolution note:" to connection failures; keep the reason readable.
        lastError.set(target, err.message.replace(/\.?\s*Resolution note:\s*$/, ''));
        this.options.onRetry?.({ rpc: r.name, address: target, error: err, next });
        if (next.kind === 'redirect' && redirects < 2 * this.addresses.length + 2) {
          redirects++;
          if (!this.addresses.includes(next.address)) this.addresses.push(next.address);
          this.leader = next.address;
          target = next.address;
          continue;
        }
        // Unavailable, no leader known, or redirects going round in circles (an election): back off, move on.
        if (this.leader === target) this.leader = undefined;
        redirects = 0;
        const wait = Math.min(backoffMs(failures++), Math.max(0, deadline - Date.now()));
        await new Promise((resolve) => setTimeout(resolve, wait));
        target = this.addresses[(this.addresses.indexOf(target) + 1) % this.addresses.length] as string;
      }
    }
  }

  private unreachable(rpc: string, lastError: Map<string, string>): BorgError {
    const tried = [...lastError].map(([a, m]) => `  ${a}: ${m}`).join('\n');
    return new BorgError('unavailable', `cell ${this.cell} did not answer ${rpc} within ${this.timeoutMs}ms${tried === '' ? '' : `; replicas tried:\n${tried}`}`);
  }

  close(): void {
    for (const s of this.stubs.values()) s.close();
    this.stubs.clear();
  }
}

export interface ConnectOptions extends ClientOptions {
  /** cell: the cell config file (default cells/local.yaml). */
  cell?: string;
  /** master: replica addresses (host:port) to use instead of the config's. */
  master?: readonly string[];
  /** user: whose certificate to present (default $BORG_USER, else ubar). */
  user?: string;
  /** tls: present this certificate instead of loading the user's from the cell's CA directory. */
  tls?: TlsMaterial;
  /** config: an already loaded cell config (instead of reading `cell`). */
  config?: CellConfig;
}

export interface Connection {
  client: CellClient;
  config: CellConfig;
  /** issued: the user's certificate was made just now from the cell's CA key. */
  issued: boolean;
}

/** defaultUser is --user, else $BORG_USER, else ubar. */
export function defaultUser(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const u = flag ?? (env.BORG_USER !== undefined && env.BORG_USER !== '' ? env.BORG_USER : DEFAULT_USER);
  return validateName(u, flag !== undefined ? '--user' : 'BORG_USER');
}

/** connectCell loads the cell config and the user's certificate and returns a client for the cell's replicas. */
export async function connectCell(o: ConnectOptions = {}): Promise<Connection> {
  const config = o.config ?? loadCellConfig(o.cell ?? DEFAULT_CELL_FILE);
  const user = defaultUser(o.user);
  let tls = o.tls;
  let issued = false;
  if (tls === undefined) {
    const c = await userCredentials(config, user);
    tls = c.tls;
    issued = c.issued;
  }
  const addresses = o.master !== undefined && o.master.length > 0 ? o.master : config.replicas.map((r) => r.address);
  const client = new CellClient(config.name, user, addresses, clientCredentials(tls), o);
  return { client, config, issued };
}
