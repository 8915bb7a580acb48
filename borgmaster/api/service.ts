// The BorgMaster gRPC service bound to a Master: every handler first learns the caller from its verified client
// certificate (security/peerIdentity), then calls the Master; thrown BorgErrors become statuses in one place
// (proto/rpc unary -> model/errors toGrpcError, which also puts the leader's address in the `borg-leader`
// trailer). The Watch stream honours the transport's back-pressure and ends with a clear status when the
// watcher is cut off.
import { Server, type MethodDefinition, type ServiceDefinition, type ServerWritableStream } from '@grpc/grpc-js';
import { BorgError, InvalidArgument, toGrpcError } from '../../model/errors';
import { BorgMasterService, CHANNEL_OPTIONS, unary, type BorgMasterServer, type WatchEvent, type WatchRequest } from '../../proto/index';
import { peerIdentity, serverCredentials, type TlsMaterial } from '../../cells/security/index';
import type { Master } from './master';

const DECODE_ERROR = Symbol('decodeError');

/**
 * lenientService wraps each method's request decoder: bytes that do not decode (an int64 beyond 2^53, a
 * truncated message) become a marker that the handler answers with INVALID_ARGUMENT, instead of grpc-js's
 * INTERNAL "Error deserializing request".
 */
function lenientService<T extends Record<string, MethodDefinition<object, object>>>(def: T): ServiceDefinition {
  const out: Record<string, MethodDefinition<object, object>> = {};
  for (const [name, m] of Object.entries(def)) {
    out[name] = {
      ...m,
      requestDeserialize: (bytes: Buffer) => {
        try {
          return m.requestDeserialize(bytes);
        } catch (e: unknown) {
          return { [DECODE_ERROR]: e instanceof Error ? e.message : String(e) };
        }
      },
    };
  }
  return out as ServiceDefinition;
}

/**
 * BORG_MASTER_SERVICE is the BorgMaster service definition to register with borgMasterHandlers: the generated
 * one with lenient request decoding (undecodable requests answer INVALID_ARGUMENT rather than INTERNAL).
 */
export const BORG_MASTER_SERVICE: ServiceDefinition = lenientService(BorgMasterService as unknown as Record<string, MethodDefinition<object, object>>);

/** addBorgMasterService registers the BorgMaster API of `master` on a server (a replica's shared server). */
export function addBorgMasterService(server: Server, master: Master): void {
  server.addService(BORG_MASTER_SERVICE, borgMasterHandlers(master));
}

/** decoded throws INVALID_ARGUMENT for a request whose bytes did not decode. */
function decoded<T extends object>(req: T): T {
  if (DECODE_ERROR in req) {
    const why = String((req as Record<symbol, unknown>)[DECODE_ERROR]);
    throw new InvalidArgument('request', `does not decode (${why}); integers must be below 2^53`);
  }
  return req;
}

export function borgMasterHandlers(master: Master): BorgMasterServer {
  const h = borgMasterHandlersUnchecked(master);
  const out: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(h)) {
    out[name] = (call: { request: object }, callback?: unknown) => {
      try {
        decoded(call.request);
      } catch (e: unknown) {
        const err = toGrpcError(e);
        if (typeof callback === 'function') (callback as (e: unknown, r: null, m: unknown) => void)(err, null, err.metadata);
        else (call as unknown as ServerWritableStream<WatchRequest, WatchEvent>).emit('error', err);
        return;
      }
      (fn as (c: unknown, cb: unknown) => void)(call, callback);
    };
  }
  return out as unknown as BorgMasterServer;
}

function borgMasterHandlersUnchecked(master: Master): BorgMasterServer {
  return {
    createJob: unary((req, call) => master.createJob(req, peerIdentity(call))),
    updateJob: unary((req, call) => master.updateJob(req, peerIdentity(call))),
    killJob: unary((req, call) => master.killJob(req, peerIdentity(call))),
    drainMachine: unary((req, call) => master.drainMachine(req, peerIdentity(call))),
    undrainMachine: unary((req, call) => master.undrainMachine(req, peerIdentity(call))),
    setQuota: unary((req, call) => master.setQuota(req, peerIdentity(call))),
    commitPlan: unary((req, call) => master.commitPlan(req, peerIdentity(call))),
    saveCheckpoint: unary((_req, call) => master.saveCheckpoint(peerIdentity(call))),
    getJob: unary((req, call) => (peerIdentity(call), master.getJob(req))),
    listJobs: unary((req, call) => (peerIdentity(call), master.listJobs(req))),
    listTasks: unary((req, call) => (peerIdentity(call), master.listTasks(req))),
    getTask: unary((req, call) => (peerIdentity(call), master.getTask(req))),
    listMachines: unary((req, call) => (peerIdentity(call), master.listMachines(req))),
    listQuotas: unary((req, call) => (peerIdentity(call), master.listQuotas(req))),
    listEvents: unary((req, call) => (peerIdentity(call), master.listEvents(req))),
    cellStatus: unary((_req, call) => (peerIdentity(call), master.cellStatus())),
    taskLogs: unary((req, call) => (peerIdentity(call), master.taskLogs(req))),
    watch: (call: ServerWritableStream<WatchRequest, WatchEvent>) => serveWatch(master, call),
  };
}

function fail(call: ServerWritableStream<WatchRequest, WatchEvent>, e: unknown): void {
  const err = toGrpcError(e);
  call.emit('error', err);
}

/** serveWatch pumps a watcher into the stream, waiting for 'drain' when the transport is full. */
function serveWatch(master: Master, call: ServerWritableStream<WatchRequest, WatchEvent>): void {
  let watcher;
  try {
    peerIdentity(call);
    watcher = master.watchFrom(call.request);
  } catch (e: unknown) {
    fail(call, e);
    return;
  }
  const w = watcher;
  let waitingForDrain = false;
  let ended = false;
  const finish = () => {
    if (ended) return;
    ended = true;
    master.watch.unsubscribe(w);
  };
  const pump = () => {
    if (ended || waitingForDrain) return;
    for (;;) {
      if (w.cutOff !== undefined) {
        finish();
        fail(call, new BorgError(w.cutOff.code, w.cutOff.reason));
        return;
      }
      const ev = w.take();
      if (ev === undefined) return;
      if (!call.write(ev)) {
        waitingForDrain = true;
        call.once('drain', () => {
          waitingForDrain = false;
          pump();
        });
        return;
      }
    }
  };
  w.onReady = pump;
  call.on('cancelled', finish);
  call.on('close', finish);
  call.on('error', finish);
  pump();
}

export interface MasterServer {
  server: Server;
  port: number;
  address: string;
  close(): Promise<void>;
}

/** startMasterServer serves the BorgMaster API on `address` (host:port; port 0 picks one) with mutual TLS. */
export async function startMasterServer(master: Master, tls: TlsMaterial, address = '127.0.0.1:0'): Promise<MasterServer> {
  const server = new Server(CHANNEL_OPTIONS);
  addBorgMasterService(server, master);
  const port = await new Promise<number>((resolve, reject) => server.bindAsync(address, serverCredentials(tls), (e, p) => (e ? reject(e) : resolve(p))));
  const host = address.slice(0, address.lastIndexOf(':'));
  return {
    server,
    port,
    address: `${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(() => server.forceShutdown(), 2000);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      }),
  };
}
