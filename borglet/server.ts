// The Borglet's gRPC server: Poll and TaskLogs, errors mapped in one place (proto/rpc.ts unary). Credentials
// are a parameter so the Borgmaster work can pass mutual-TLS credentials of the cell's CA; tests use insecure
// ones on 127.0.0.1.
import { Server, ServerCredentials } from '@grpc/grpc-js';
import { BorgletService, CHANNEL_OPTIONS, unary, type BorgletServer, type BorgletLogsRequest, type BorgletLogsResponse, type PollRequest, type PollResponse } from '../proto/index';
import { BorgError } from '../model/errors';
import type { Borglet } from './borglet';

export function borgletService(b: Borglet): BorgletServer {
  return {
    poll: unary<PollRequest, PollResponse>((req) => b.poll(req)),
    taskLogs: unary<BorgletLogsRequest, BorgletLogsResponse>((req) => b.taskLogs(req)),
  };
}

/** serveBorglet binds the service on `listen` (host:port; port 0 picks one) and returns the bound port. */
export async function serveBorglet(b: Borglet, listen: string, credentials: ServerCredentials = ServerCredentials.createInsecure()): Promise<{ server: Server; port: number }> {
  const server = new Server(CHANNEL_OPTIONS);
  server.addService(BorgletService, borgletService(b));
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(listen, credentials, (err, p) => (err ? reject(new BorgError('unavailable', `cannot listen on ${listen}: ${err.message}`, { cause: err })) : resolve(p)));
  });
  return { server, port };
}
