// The Borglet's gRPC server: Poll, PollStream and TaskLogs, errors mapped in one place (proto/rpc.ts unary,
// toGrpcError for the stream's per-poll errors). Credentials are a parameter so the Borgmaster work can pass
// mutual-TLS credentials of the cell's CA; tests use insecure ones on 127.0.0.1.
import { Server, ServerCredentials, type ServerDuplexStream, type ServerUnaryCall, type handleBidiStreamingCall } from '@grpc/grpc-js';
import { BorgletService, CHANNEL_OPTIONS, PollResponse, unary, type BorgletServer, type BorgletLogsRequest, type BorgletLogsResponse, type PollRequest } from '../proto/index';
import { BorgError, toGrpcError } from '../model/errors';
import type { Borglet } from './borglet';

/** AuthorizedCall: what authorization may look at on any call, unary or streaming (the peer and its TLS identity). */
export type AuthorizedCall = Pick<ServerUnaryCall<unknown, unknown>, 'getPeer' | 'getAuthContext'>;

/**
 * Authorize checks the caller of every RPC (with mutual TLS: that its certificate is a master replica's of this
 * cell, B15 §4 "a Borglet accepts orders only from its cell's master"); it throws a BorgError to refuse. A
 * PollStream is authorized once, when it opens: TLS pins the stream's connection to one certificate.
 */
export type Authorize = (call: AuthorizedCall) => void;

/** PollFn serves one poll (the Borglet's, or the simulated Borglets'). */
export type PollFn = (req: PollRequest) => PollResponse | Promise<PollResponse>;

/**
 * pollStreamHandler serves PollStream with `poll`: each request is answered by one response carrying its
 * poll_seq, or by one carrying `error` (the status Poll would have answered) when the poll failed, so one bad poll
 * never closes a stream that other polls (other simulated machines) share. A caller refused by `authorize` gets
 * the error as the stream's status before any poll is read.
 */
export function pollStreamHandler(poll: PollFn, authorize: Authorize): handleBidiStreamingCall<PollRequest, PollResponse> {
  return (call: ServerDuplexStream<PollRequest, PollResponse>) => {
    try {
      authorize(call);
    } catch (e: unknown) {
      call.emit('error', toGrpcError(e));
      return;
    }
    let open = true;
    const closed = () => (open = false);
    call.on('cancelled', closed);
    call.on('error', closed);
    call.on('end', () => {
      // The master half-closed: answer what is still being served, then end (polls answer in microseconds to
      // seconds; ending now would drop those replies, which the master would count as missed polls).
      void Promise.allSettled([...inFlight]).then(() => {
        if (open) call.end();
        open = false;
      });
    });
    const inFlight = new Set<Promise<void>>();
    call.on('data', (req: PollRequest) => {
      const p = Promise.resolve()
        .then(() => poll(req))
        .then(
          (res) => {
            if (open) call.write({ ...res, pollSeq: req.pollSeq, error: undefined });
          },
          (e: unknown) => {
            const status = toGrpcError(e);
            if (open) call.write(PollResponse.fromPartial({ machine: req.machine, pollSeq: req.pollSeq, error: { code: status.code, message: status.details } }));
          },
        )
        .finally(() => inFlight.delete(p));
      inFlight.add(p);
    });
  };
}

export function borgletService(b: Borglet, authorize: Authorize = () => undefined): BorgletServer {
  return {
    poll: unary<PollRequest, PollResponse>((req, call) => {
      authorize(call);
      return b.poll(req);
    }),
    pollStream: pollStreamHandler((req) => b.poll(req), authorize),
    taskLogs: unary<BorgletLogsRequest, BorgletLogsResponse>((req, call) => {
      authorize(call);
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
