// The BorgMaster gRPC service bound to a Master: every handler first learns the caller from its verified client
// certificate (security/peerIdentity), then calls the Master; thrown BorgErrors become statuses in one place
// (proto/rpc unary -> model/errors toGrpcError, which also puts the leader's address in the `borg-leader`
// trailer). The Watch stream honours the transport's back-pressure and ends with a clear status when the
// watcher is cut off.
import { Server, type ServerWritableStream } from '@grpc/grpc-js';
import { BorgError, toGrpcError } from '../../model/errors';
import { BorgMasterService, CHANNEL_OPTIONS, unary, type BorgMasterServer, type WatchEvent, type WatchRequest } from '../../proto/index';
import { peerIdentity, serverCredentials, type TlsMaterial } from '../security/index';
import type { Master } from './master';

export function borgMasterHandlers(master: Master): BorgMasterServer {
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
  server.addService(BorgMasterService, borgMasterHandlers(master));
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
