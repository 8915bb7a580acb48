// KvStateMachine is the standalone replica's state machine (replica_main.ts): a map from key to value over the
// Paxos log, plus a bounded history of applied writes in log order so tests can compare replicas write by write;
// and serveKv, its PaxosKv gRPC service.
import { crc32 } from 'node:zlib';
import { PAXOS_KV_HISTORY_PAGE, PAXOS_KV_MAX_KEY_BYTES, PAXOS_KV_MAX_VALUE_BYTES } from '../../cells/limits';
import { assert } from '../../model/assert';
import { InvalidArgument, NotLeader } from '../../model/errors';
import { readVarint, varintEnd, varintSize, writeVarint } from '../../model/varint';
import type { Server } from '@grpc/grpc-js';
import {
  KvGetRequest as KvGetRequestCodec,
  KvGetResponse as KvGetResponseCodec,
  KvHistoryRequest as KvHistoryRequestCodec,
  KvHistoryResponse as KvHistoryResponseCodec,
  KvPutRequest,
  KvSnapshot,
  KvStatusRequest,
  KvStatusResponse as KvStatusResponseCodec,
  PaxosKvService,
  unary,
  type KvApplied,
  type KvGetRequest,
  type KvGetResponse,
  type KvHistoryRequest,
  type KvHistoryResponse,
  type KvPutResponse,
  type KvStatusResponse,
} from '../../proto/index';
import type { PaxosNode, StateMachine } from './node';
import type { UnaryGrpcServer } from './grpc_unary_server';
import { KvHistory } from './kv_history';
import { encodePairRecord, rewritePairRecord, type PairRecord } from './kv_pairs';

/** validatePut checks a client's put before it is proposed, so only well-formed commands enter the log. */
export function validatePut(req: KvPutRequest): void {
  if (req.key.length === 0) throw new InvalidArgument('key', 'must not be empty');
  if (Buffer.byteLength(req.key) > PAXOS_KV_MAX_KEY_BYTES) throw new InvalidArgument('key', `longer than ${PAXOS_KV_MAX_KEY_BYTES} bytes`);
  if (req.value.length > PAXOS_KV_MAX_VALUE_BYTES) throw new InvalidArgument('value', `longer than ${PAXOS_KV_MAX_VALUE_BYTES} bytes`);
}

export function encodePut(req: KvPutRequest): Uint8Array {
  return KvPutRequest.encode(req).finish();
}

/** RawPut is a client's put, decoded for validation, with the bytes it came in: those become the command. */
interface RawPut {
  req: KvPutRequest;
  bytes: Buffer;
}

/**
 * KV_SERVICE is PaxosKv with Put's request kept as sent: the command is the client's own encoding (copied out of
 * the receive buffer), so the leader does not re-encode what it just decoded. apply() decodes it on every replica
 * alike, so the same bytes mean the same write everywhere.
 */
const KV_SERVICE = {
  ...PaxosKvService,
  put: { ...PaxosKvService.put, requestDeserialize: (b: Buffer): RawPut => ({ req: KvPutRequest.decode(b), bytes: Buffer.from(b) }) },
};

/** encodePutResponse writes KvPutResponse { index } (field 1, varint) without the generated writer. */
export function encodePutResponse(index: number): Uint8Array {
  assert(Number.isSafeInteger(index) && index >= 0, `index ${index}`);
  if (index === 0) return new Uint8Array(0);
  const out = new Uint8Array(1 + varintSize(index));
  out[0] = 8;
  writeVarint(out, 1, index);
  return out;
}

/**
 * scanCanonicalPut reads a KvPutRequest in the form every proposer writes (key, field 1, then value, field 2, each
 * once, nothing else) with an ASCII key that validatePut accepts, without the generated decoder: no request object,
 * no copy of the value (a view into the command; the pair record copies it once). Anything else, it returns
 * undefined and apply() takes the generated decoder and validatePut, so both paths mean the same for every input:
 * for these bytes the generated decoder yields the same key (ASCII decodes alike as UTF-8) and value.
 */
export function scanCanonicalPut(b: Uint8Array): { key: string; value: Uint8Array } | undefined {
  if (b.length < 2 || b[0] !== 10) return undefined;
  const keyLength = readVarint(b, 1);
  if (keyLength < 1 || keyLength > PAXOS_KV_MAX_KEY_BYTES) return undefined;
  const keyStart = varintEnd();
  const keyEnd = keyStart + keyLength;
  if (keyEnd >= b.length || b[keyEnd] !== 18) return undefined;
  for (let i = keyStart; i < keyEnd; i++) if ((b[i] as number) >= 0x80) return undefined;
  const valueLength = readVarint(b, keyEnd + 1);
  if (valueLength < 0 || valueLength > PAXOS_KV_MAX_VALUE_BYTES) return undefined;
  const valueStart = varintEnd();
  if (valueStart + valueLength !== b.length) return undefined;
  return { key: Buffer.from(b.buffer, b.byteOffset + keyStart, keyLength).toString('latin1'), value: b.subarray(valueStart) };
}

/**
 * Stored is a key's current value, kept as its encoded KvSnapshot record (kv_pairs.ts), and the slot that wrote it;
 * a later write of the same size rewrites both in place.
 */
interface Stored extends PairRecord {
  index: number;
}

export class KvStateMachine implements StateMachine<void> {
  private readonly data = new Map<string, Stored>();
  /** history holds the newest PAXOS_KV_HISTORY_WRITES applied writes, encoded (kv_history.ts). */
  private readonly history = new KvHistory();
  private appliedIndex = 0;
  /** rejectedCommands counts log entries that did not decode (only a bug or a foreign writer could put them there). */
  rejectedCommands = 0;

  apply(command: Uint8Array, slot: number): void {
    assert(slot > this.appliedIndex, `apply out of order: slot ${slot} after ${this.appliedIndex}`);
    this.appliedIndex = slot;
    let put: { key: string; value: Uint8Array } | undefined = scanCanonicalPut(command);
    if (put === undefined) {
      try {
        const req = KvPutRequest.decode(command);
        validatePut(req);
        put = req;
      } catch {
        // Deterministic on every replica: the same bytes fail the same way everywhere, so all skip the slot.
        this.rejectedCommands += 1;
        return;
      }
    }
    const stored = this.data.get(put.key);
    if (stored !== undefined && rewritePairRecord(stored, put.key, put.value, slot)) {
      stored.index = slot;
    } else {
      const { record, valueStart, valueEnd } = encodePairRecord(put.key, put.value, slot);
      this.data.set(put.key, { record, valueStart, valueEnd, index: slot });
    }
    this.history.append(slot, put.key, crc32(put.value));
  }

  get(key: string): { value: Buffer; index: number } | undefined {
    const s = this.data.get(key);
    // A copy: the record is rewritten in place by the key's next write (rewritePairRecord).
    return s === undefined ? undefined : { value: Buffer.from(s.record.subarray(s.valueStart, s.valueEnd)), index: s.index };
  }

  get applied(): number {
    return this.appliedIndex;
  }

  /** writes returns up to limit applied writes in slots >= fromIndex, in log order. */
  writes(fromIndex: number, limit: number): { writes: KvApplied[]; firstKeptIndex: number } {
    const n = Math.min(Math.max(limit, 1), PAXOS_KV_HISTORY_PAGE);
    return { writes: this.history.page(fromIndex, n), firstKeptIndex: this.history.firstSlot ?? this.appliedIndex + 1 };
  }

  /**
   * takeSnapshot encodes KvSnapshot { pairs, history, appliedIndex } as the generated encoder would, byte for byte,
   * by concatenating the records the pairs and the history are already kept as (fields in number order: 1, 2, 3).
   */
  takeSnapshot(): Uint8Array {
    const parts: Buffer[] = [];
    for (const s of this.data.values()) parts.push(s.record);
    for (const part of this.history.snapshotParts()) parts.push(part);
    parts.push(Buffer.from(KvSnapshot.encode({ pairs: [], history: [], appliedIndex: this.appliedIndex }).finish()));
    return Buffer.concat(parts);
  }

  restoreSnapshot(bytes: Uint8Array): void {
    const snap = KvSnapshot.decode(bytes);
    this.data.clear();
    for (const p of snap.pairs) this.data.set(p.key, { ...encodePairRecord(p.key, p.value, p.index), index: p.index });
    this.history.clear();
    for (const w of snap.history) this.history.append(w.index, w.key, w.valueCrc32);
    this.appliedIndex = snap.appliedIndex;
  }
}

/** serveKv adds the PaxosKv service for node and its state machine to server. */
export function serveKv(server: Server, node: PaxosNode<void>, kv: KvStateMachine, id: number): void {
  server.addService(KV_SERVICE, {
    put: unary(async (put: RawPut): Promise<KvPutResponse> => {
      validatePut(put.req);
      const index = await node.propose([put.bytes]);
      return { index };
    }),
    get: unary(async (req: KvGetRequest): Promise<KvGetResponse> => {
      if (req.key.length === 0) throw new InvalidArgument('key', 'must not be empty');
      if (req.linearizable) await node.linearizableRead();
      const v = kv.get(req.key);
      return { found: v !== undefined, value: v?.value ?? Buffer.alloc(0), index: v?.index ?? 0, appliedIndex: kv.applied };
    }),
    history: unary(async (req: KvHistoryRequest): Promise<KvHistoryResponse> => {
      const { writes, firstKeptIndex } = kv.writes(req.fromIndex, req.limit === 0 ? PAXOS_KV_HISTORY_PAGE : req.limit);
      return { writes, firstKeptIndex, appliedIndex: kv.applied };
    }),
    status: unary(async (): Promise<KvStatusResponse> => kvStatus(node, id, node.leaderAddress() ?? '')),
  });
}

/** kvStatus is the Status reply of both servers; leaderAddress is the leader's address as the caller names it. */
function kvStatus(node: PaxosNode<void>, id: number, leaderAddress: string): KvStatusResponse {
  const s = node.status();
  return {
    id,
    role: s.role,
    leaderId: s.leaderId ?? 0,
    leaderAddress,
    appliedIndex: node.applied,
    commitIndex: s.commitIndex,
    leaseValid: s.leaseValid,
    syncs: node.metrics.syncs,
    readies: node.metrics.readies,
  };
}

/**
 * KvServeOptions: clientAddressOf maps a replica's Paxos (peer) address to the address its client service listens
 * on, so a NotLeader hint and Status name the leader where clients can reach it.
 */
export interface KvServeOptions {
  id: number;
  clientAddressOf: (peerAddress: string) => string | undefined;
}

/** KV_MAX_PUT_BYTES bounds one encoded KvPutRequest: the key and value limits plus their field headers. */
const KV_MAX_PUT_BYTES = PAXOS_KV_MAX_KEY_BYTES + PAXOS_KV_MAX_VALUE_BYTES + 16;
/** KV_MAX_SMALL_REQUEST_BYTES bounds Get/History/Status requests (a key, two integers, or nothing). */
const KV_MAX_SMALL_REQUEST_BYTES = PAXOS_KV_MAX_KEY_BYTES + 64;

/**
 * serveKvUnary adds the PaxosKv methods to a UnaryGrpcServer (grpc_unary_server.ts): the same service and bytes as
 * serveKv, on the replica's client port. Put proposes the client's request bytes as the command, as serveKv does.
 */
export function serveKvUnary(server: UnaryGrpcServer, node: PaxosNode<void>, kv: KvStateMachine, options: KvServeOptions): void {
  const hint = (e: unknown): unknown => {
    if (!(e instanceof NotLeader) || e.leaderAddress === undefined) return e;
    return new NotLeader(options.clientAddressOf(e.leaderAddress) ?? e.leaderAddress);
  };
  server.addMethod<Buffer, number>(PaxosKvService.put.path, {
    maxRequestBytes: KV_MAX_PUT_BYTES,
    deserialize: (b) => {
      // The canonical form is valid by construction (scanCanonicalPut checks what validatePut does); any other
      // form is decoded and validated in full. The command is a copy: b is a view of the receive buffer.
      if (scanCanonicalPut(b) === undefined) validatePut(KvPutRequest.decode(b));
      return Buffer.from(b);
    },
    serialize: encodePutResponse,
    handle: (bytes, done) => {
      node.propose([bytes]).then(
        (index) => done(null, index),
        (e: unknown) => done(hint(e)),
      );
    },
  });
  server.addMethod<KvGetRequest, KvGetResponse>(PaxosKvService.get.path, {
    maxRequestBytes: KV_MAX_SMALL_REQUEST_BYTES,
    deserialize: (b) => KvGetRequestCodec.decode(b),
    serialize: (r) => KvGetResponseCodec.encode(r).finish(),
    handle: (req, done) => {
      if (req.key.length === 0) {
        done(new InvalidArgument('key', 'must not be empty'));
        return;
      }
      const read = req.linearizable ? node.linearizableRead() : Promise.resolve(0);
      read.then(
        () => {
          const v = kv.get(req.key);
          done(null, { found: v !== undefined, value: v?.value ?? Buffer.alloc(0), index: v?.index ?? 0, appliedIndex: kv.applied });
        },
        (e: unknown) => done(hint(e)),
      );
    },
  });
  server.addMethod<KvHistoryRequest, KvHistoryResponse>(PaxosKvService.history.path, {
    maxRequestBytes: KV_MAX_SMALL_REQUEST_BYTES,
    deserialize: (b) => KvHistoryRequestCodec.decode(b),
    serialize: (r) => KvHistoryResponseCodec.encode(r).finish(),
    handle: (req, done) => {
      const { writes, firstKeptIndex } = kv.writes(req.fromIndex, req.limit === 0 ? PAXOS_KV_HISTORY_PAGE : req.limit);
      done(null, { writes, firstKeptIndex, appliedIndex: kv.applied });
    },
  });
  server.addMethod<unknown, KvStatusResponse>(PaxosKvService.status.path, {
    maxRequestBytes: KV_MAX_SMALL_REQUEST_BYTES,
    deserialize: (b) => KvStatusRequest.decode(b),
    serialize: (r) => KvStatusResponseCodec.encode(r).finish(),
    handle: (_req, done) => {
      const leaderPeer = node.leaderAddress();
      done(null, kvStatus(node, options.id, leaderPeer === undefined ? '' : (options.clientAddressOf(leaderPeer) ?? leaderPeer)));
    },
  });
}
