// PollChannel: a link shard's long-lived PollStream to one Borglet address (proto/borg/v1/borglet.proto). Each poll
// is one message each way on an open HTTP/2 stream instead of a unary call (a new stream with headers and
// trailers, the call stack of grpc-js's interceptors), which was most of a quiet poll's CPU on both ends. Replies
// are matched to polls by poll_seq; each poll keeps its own deadline, so a Borglet that stops answering fails its
// polls exactly as unary calls would (DEADLINE_EXCEEDED), and a broken stream fails every poll still out on it
// (UNAVAILABLE) and is reopened by the next poll.
//
// Replies arrive as bytes (PollReply): only poll_seq and the presence of `error` are read here, so the link shard
// can see that a Borglet's report is byte for byte the one it already judged and skip decoding it (decoding ten
// task statuses was most of what a quiet poll still allocated on the master).
import { Metadata, type ClientDuplexStream } from '@grpc/grpc-js';
import { BorgletService, PollResponse, type BorgletClient, type PollRequest } from '../../proto/index';
import { BorgError, Unavailable, fromGrpcError } from '../../model/errors';
import { readVarint, varintEnd } from '../../model/varint';

/**
 * PollReply is one reply as it came off the wire. `bodyEnd` is where poll_seq starts when it is the message's last
 * field (encoders write fields in number order, and poll_seq is the last but `error`): bytes before it are the
 * report proper, the same for the same actual state whatever the poll. -1 when the reply is laid out otherwise.
 */
export interface PollReply {
  bytes: Uint8Array;
  bodyEnd: number;
}

interface Waiter {
  resolve: (r: PollReply) => void;
  reject: (e: BorgError) => void;
  deadlineMs: number;
}

const POLL_SEQ_FIELD = 8;
const ERROR_FIELD = 9;

/** ReplyHead: what PollChannel reads of a reply; undefined fields when the bytes are not a protobuf message. */
interface ReplyHead {
  seq: number;
  seqStart: number;
  seqEnd: number;
  hasError: boolean;
}

/** scanReply walks the reply's top-level fields (skipping each by its wire type) for poll_seq and `error`. */
export function scanReply(b: Uint8Array): ReplyHead | undefined {
  const head: ReplyHead = { seq: 0, seqStart: -1, seqEnd: -1, hasError: false };
  let pos = 0;
  while (pos < b.length) {
    const start = pos;
    const tag = readVarint(b, pos);
    if (tag < 0) return undefined;
    pos = varintEnd();
    const field = Math.floor(tag / 8);
    switch (tag % 8) {
      case 0: {
        const v = readVarint(b, pos);
        if (v < 0) return undefined;
        if (field === POLL_SEQ_FIELD) {
          head.seq = v;
          head.seqStart = start;
          head.seqEnd = varintEnd();
        }
        pos = varintEnd();
        break;
      }
      case 1:
        pos += 8;
        break;
      case 2: {
        const len = readVarint(b, pos);
        if (len < 0) return undefined;
        pos = varintEnd() + len;
        if (field === ERROR_FIELD) head.hasError = true;
        break;
      }
      case 5:
        pos += 4;
        break;
      default:
        return undefined; // groups (3, 4) are not in this message; anything else is not protobuf
    }
  }
  return pos === b.length ? head : undefined;
}

const POLL_STREAM = BorgletService.pollStream;

export class PollChannel {
  private call: ClientDuplexStream<PollRequest, Uint8Array> | undefined;
  /** waiting: polls sent and not answered, by poll_seq, in the order sent (so also by deadline when timeouts match). */
  private readonly waiting = new Map<number, Waiter>();
  private nextSeq = 1;
  /** streamsOpened counts PollStreams opened (one per channel unless streams break), for tests. */
  streamsOpened = 0;

  constructor(
    private readonly client: InstanceType<typeof BorgletClient>,
    readonly address: string,
  ) {}

  /** outstanding is the number of polls sent on this channel and not yet answered or failed. */
  get outstanding(): number {
    return this.waiting.size;
  }

  /**
   * poll sends one poll (its poll_seq is set here) and resolves with its reply's bytes; rejects with the poll's
   * error (a BorgError), with DEADLINE_EXCEEDED once expire() finds it past nowMs + timeoutMs, or with UNAVAILABLE
   * when the stream breaks.
   */
  poll(req: PollRequest, nowMs: number, timeoutMs: number): Promise<PollReply> {
    const call = this.open();
    const seq = this.nextSeq++;
    return new Promise<PollReply>((resolve, reject) => {
      this.waiting.set(seq, { resolve, reject, deadlineMs: nowMs + timeoutMs });
      req.pollSeq = seq;
      call.write(req);
    });
  }

  /** expire fails the polls whose deadline has passed (call it a few times a second). */
  expire(nowMs: number): void {
    for (const [seq, w] of this.waiting) {
      if (w.deadlineMs > nowMs) continue;
      this.waiting.delete(seq);
      w.reject(new BorgError('deadline_exceeded', `poll to ${this.address} not answered within its deadline`));
    }
  }

  /** close ends the stream and fails what is still out (the shard is stopping). */
  close(): void {
    const call = this.call;
    this.call = undefined;
    this.failAll(new Unavailable(`poll stream to ${this.address} closed`));
    call?.cancel();
  }

  private open(): ClientDuplexStream<PollRequest, Uint8Array> {
    if (this.call !== undefined) return this.call;
    // No deadline: the stream lives as long as the channel; each poll's deadline is kept in `waiting`. Replies are
    // kept as bytes (the deserializer is the identity); received() reads what it needs of them.
    const call = this.client.makeBidiStreamRequest<PollRequest, Uint8Array>(POLL_STREAM.path, POLL_STREAM.requestSerialize, (b: Buffer) => b, new Metadata());
    this.streamsOpened++;
    const broken = (e: BorgError) => {
      if (this.call !== call) return; // already replaced (or closed): its polls were failed then
      this.call = undefined;
      this.failAll(e);
    };
    call.on('data', (bytes: Uint8Array) => this.received(bytes));
    call.on('error', (e: unknown) => broken(fromGrpcError(e)));
    // The Borglet ended the stream (a restart, a shutdown): whatever it had not answered will not be answered.
    call.on('end', () => broken(new Unavailable(`poll stream to ${this.address} ended`)));
    this.call = call;
    return call;
  }

  private received(bytes: Uint8Array): void {
    // A reply that is not a protobuf message names no poll: dropped, its poll fails at its deadline.
    const head = scanReply(bytes);
    if (head === undefined) return;
    const w = this.waiting.get(head.seq);
    if (w === undefined) return; // expired meanwhile: its deadline already failed it
    this.waiting.delete(head.seq);
    if (head.hasError) {
      let error: BorgError;
      try {
        const e = PollResponse.decode(bytes).error;
        error = fromGrpcError({ code: e?.code ?? 2, details: e?.message ?? 'poll failed' });
      } catch (e: unknown) {
        error = new Unavailable(`undecodable poll error from ${this.address}: ${e instanceof Error ? e.message : String(e)}`);
      }
      w.reject(error);
      return;
    }
    w.resolve({ bytes, bodyEnd: head.seqStart >= 0 && head.seqEnd === bytes.length ? head.seqStart : -1 });
  }

  private failAll(e: BorgError): void {
    const waiters = [...this.waiting.values()];
    this.waiting.clear();
    for (const w of waiters) w.reject(e);
  }
}
