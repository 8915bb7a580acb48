// The simulated Borglets' gRPC server: the real Borglet service (proto/borg/v1/borglet.proto) on one port for
// every simulated machine; PollRequest.machine picks the machine (Poll, or PollStream shared by the machines). Authorization as the real Borglet's: with
// mutual TLS only the cell's master replicas may give orders.
import { Server, ServerCredentials } from '@grpc/grpc-js';
import { BorgletService, CHANNEL_OPTIONS, unary, type BorgletLogsRequest, type BorgletLogsResponse, type PollRequest, type PollResponse } from '../../proto/index';
import { BorgError } from '../../model/errors';
import { pollStreamHandler, type Authorize } from '../../borglet/server';
import type { SimBorglets } from './sim_borglets';

/** SimBorgletsService: what the server needs (the core, or a test's wrapper around it, which may answer later). */
export interface SimBorgletsService {
  poll(req: PollRequest): PollResponse | Promise<PollResponse>;
  taskLogs: SimBorglets['taskLogs'];
}

export async function serveSimBorglets(sim: SimBorgletsService, listen: string, credentials: ServerCredentials = ServerCredentials.createInsecure(), authorize: Authorize = () => undefined): Promise<{ server: Server; port: number }> {
  const server = new Server(CHANNEL_OPTIONS);
  server.addService(BorgletService, {
    poll: unary<PollRequest, PollResponse>((req, call) => {
      authorize(call);
      return sim.poll(req);
    }),
    // The link shards' path: one stream per master replica carries the polls of every simulated machine here.
    pollStream: pollStreamHandler((req) => sim.poll(req), authorize),
    taskLogs: unary<BorgletLogsRequest, BorgletLogsResponse>((req, call) => {
      authorize(call);
      return sim.taskLogs(req);
    }),
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(listen, credentials, (err, p) => (err ? reject(new BorgError('unavailable', `cannot listen on ${listen}: ${err.message}`, { cause: err })) : resolve(p)));
  });
  return { server, port };
}
