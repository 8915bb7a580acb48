// The Borglet's gRPC server: Poll and TaskLogs, errors mapped in one place (proto/rpc.ts unary). Credentials
// are a parameter so the Borgmaster work can pass mutual-TLS credentials of the cell's CA; tests use insecure
// ones on 127.0.0.1.
import { Server, ServerCredentials, type ServerUnaryCall } from '@grpc/grpc-js';
import { BorgletService, CHANNEL_OPTIONS, unary, type BorgletServer, type BorgletLogsRequest, type BorgletLogsResponse, type PollRequest, type PollResponse } from '../proto/index';
import { BorgError } from '../model/errors';
import type { Borglet } from './borglet';

/**
 * Authorize checks the caller of every RPC (with mutual TLS: that its certificate is a master replica's of this
 * cell, B15 §4 "a Borglet accepts orders only from its cell's master"); it throws a BorgError to refuse.
 */
export type Authorize = (call: ServerUnaryCall<unknown, unknown>) => void;

export function borgletService(b: Borglet, authorize: Authorize = () => undefined): BorgletServer {
  return {
    poll: unary<PollRequest, PollResponse>((req, call) => {
      authorize(call as ServerUnaryCall<unknown, unknown>);
      return b.poll(req);
    }),
    taskLogs: unary<BorgletLogsRequest, BorgletLogsResponse>((req, call) => {
      authorize(call as ServerUnaryCall<unknown, unknown>);
      return b.taskLogs(req);
    }),
  };
}

/** serveBorglet binds the service on `listen` (host:port; port 0 picks one) and returns the bound port. */
export async function serveBorglet(b: Borglet, listen: string, credentials: ServerCredentials = ServerCredentials.createInsecure(), authorize?: Authorize): Promise<{ server: Server; port: number }> {
  const server = new Server(CHANNEL_OPTIONS);
  server.addService(BorgletService, borgletService(b, authorize));
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(listen, credentials, (err, p) => (err ? reject(new BorgError('unavailable', `cannot listen on ${listen}: ${err.message}`, { cause: err })) : resolve(p)));
  });
  return { server, port };
}
