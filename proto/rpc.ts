// gRPC plumbing shared by every server and client: message-size limits from cells/limits.ts, handlers that turn
// thrown BorgErrors into statuses in one place (model/errors.ts), and a promise wrapper for unary client calls.
import type { CallOptions, ClientUnaryCall, Metadata, ServerUnaryCall, ServiceError, handleUnaryCall, sendUnaryData } from '@grpc/grpc-js';
import { MAX_MESSAGE_BYTES } from '../cells/limits';
import { fromGrpcError, toGrpcError } from '../model/errors';

/** CHANNEL_OPTIONS go on every gRPC server and client. */
export const CHANNEL_OPTIONS = {
  'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
  'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
  'grpc.keepalive_time_ms': 10_000,
  'grpc.keepalive_timeout_ms': 5_000,
} as const;

/** unary adapts an async handler; anything it throws is mapped by toGrpcError. */
export function unary<Req, Res>(fn: (req: Req, call: ServerUnaryCall<Req, Res>) => Promise<Res> | Res): handleUnaryCall<Req, Res> {
  return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => {
    Promise.resolve()
      .then(() => fn(call.request, call))
      .then(
        (res) => callback(null, res),
        (e: unknown) => {
          const err = toGrpcError(e);
          callback(err, null, err.metadata);
        },
      );
  };
}

type UnaryMethod<Req, Res> = (
  req: Req,
  metadata: Metadata,
  options: Partial<CallOptions>,
  callback: (err: ServiceError | null, res: Res) => void,
) => ClientUnaryCall;

/** invoke calls a bound unary client method with a deadline; failures become BorgErrors. */
export function invoke<Req, Res>(method: UnaryMethod<Req, Res>, req: Req, metadata: Metadata, timeoutMs: number): Promise<Res> {
  return new Promise<Res>((resolve, reject) => {
    method(req, metadata, { deadline: Date.now() + timeoutMs }, (err, res) => {
      if (err) reject(fromGrpcError(err));
      else resolve(res);
    });
  });
}
