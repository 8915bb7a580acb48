// The one family of operating errors (bad input, refusals, unavailability) and their one mapping to gRPC
// status codes. Bugs are assertions (assert.ts), never BorgErrors.
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';

export type BorgErrorCode =
  | 'invalid_argument'
  | 'not_found'
  | 'already_exists'
  | 'permission_denied'
  | 'unauthenticated'
  | 'resource_exhausted'
  | 'failed_precondition'
  | 'not_leader'
  | 'unavailable'
  | 'aborted'
  | 'deadline_exceeded'
  | 'internal';

export class BorgError extends Error {
  override name = 'BorgError';
  constructor(
    readonly code: BorgErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** InvalidArgument names the offending field (a dotted path such as `spec.task.requirements.ramBytes`). */
export class InvalidArgument extends BorgError {
  override name = 'InvalidArgument';
  constructor(
    readonly field: string,
    problem: string,
  ) {
    super('invalid_argument', `${field}: ${problem}`);
  }
}

export class NotFound extends BorgError {
  override name = 'NotFound';
  constructor(what: string) {
    super('not_found', `${what} not found`);
  }
}

export class AlreadyExists extends BorgError {
  override name = 'AlreadyExists';
  constructor(what: string) {
    super('already_exists', `${what} already exists`);
  }
}

export class PermissionDenied extends BorgError {
  override name = 'PermissionDenied';
  constructor(message: string) {
    super('permission_denied', message);
  }
}

/** QuotaExceeded says which quota and by how much (B15 §2.5 admission control). */
export class QuotaExceeded extends BorgError {
  override name = 'QuotaExceeded';
  constructor(message: string) {
    super('resource_exhausted', message);
  }
}

/** NotLeader carries the leader's address (if known) so clients can redirect. */
export class NotLeader extends BorgError {
  override name = 'NotLeader';
  constructor(readonly leaderAddress: string | undefined) {
    super('not_leader', leaderAddress ? `not the leader; the leader is ${leaderAddress}` : 'not the leader; no leader is known');
  }
}

export class Unavailable extends BorgError {
  override name = 'Unavailable';
  constructor(message: string, options?: { cause?: unknown }) {
    super('unavailable', message, options);
  }
}

/** LEADER_METADATA_KEY is the trailer in which a follower names the leader. */
export const LEADER_METADATA_KEY = 'borg-leader';

const grpcCodes: Record<BorgErrorCode, status> = {
  invalid_argument: status.INVALID_ARGUMENT,
  not_found: status.NOT_FOUND,
  already_exists: status.ALREADY_EXISTS,
  permission_denied: status.PERMISSION_DENIED,
  unauthenticated: status.UNAUTHENTICATED,
  resource_exhausted: status.RESOURCE_EXHAUSTED,
  failed_precondition: status.FAILED_PRECONDITION,
  not_leader: status.FAILED_PRECONDITION,
  unavailable: status.UNAVAILABLE,
  aborted: status.ABORTED,
  deadline_exceeded: status.DEADLINE_EXCEEDED,
  internal: status.INTERNAL,
};

/** toGrpcError is the one place BorgErrors become gRPC statuses. Anything else is reported as INTERNAL. */
export function toGrpcError(e: unknown): Partial<ServiceError> & { code: status; details: string } {
  const metadata = new Metadata();
  // The trailer is present on every NotLeader (empty when no leader is known) so clients can tell it apart.
  if (e instanceof NotLeader) metadata.set(LEADER_METADATA_KEY, e.leaderAddress ?? '');
  if (e instanceof BorgError) return { code: grpcCodes[e.code], details: e.message, message: e.message, metadata };
  const message = e instanceof Error ? `internal error: ${e.message}` : 'internal error';
  return { code: status.INTERNAL, details: message, message, metadata };
}

/** fromGrpcError turns a client-side gRPC error back into a BorgError, keeping the leader hint. */
export function fromGrpcError(e: unknown): BorgError {
  if (e instanceof BorgError) return e;
  const err = e as Partial<ServiceError>;
  const code = typeof err.code === 'number' ? err.code : status.UNKNOWN;
  const details = err.details ?? (e instanceof Error ? e.message : String(e));
  const leader = err.metadata?.get(LEADER_METADATA_KEY)[0];
  if (leader !== undefined) return new NotLeader(String(leader) || undefined);
  for (const [name, grpcCode] of Object.entries(grpcCodes) as [BorgErrorCode, status][]) {
    if (grpcCode === code && name !== 'not_leader') return new BorgError(name, details, { cause: e });
  }
  return new BorgError(code === status.UNKNOWN ? 'internal' : 'unavailable', details, { cause: e });
}
