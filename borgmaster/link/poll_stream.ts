// PollChannel: a link shard's long-lived PollStream to one Borglet address (proto/borg/v1/borglet.proto). Each poll
// is one message each way on an open HTTP/2 stream instead of a unary call (a new stream with headers and
// trailers, the call stack of grpc-js's interceptors), which was most of a quiet poll's CPU on both ends. Replies
// are matched to polls by poll_seq; each poll keeps its own deadline, so a Borglet that stops answering fails its
// polls exactly as unary calls would (DEADLINE_EXCEEDED), and a broken stream fails every poll still out on it
// (UNAVAILABLE) and is reopened by the next poll.
import { Metadata, type ClientDuplexStream } from '@grpc/grpc-js';
import type { BorgletClient, PollRequest, PollResponse } from '../../proto/index';
import { BorgError, Unavailable, fromGrpcError } from '../../model/errors';

interface Waiter {
  resolve: (r: PollResponse) => void;
  reject: (e: BorgError) => void;
  deadlineMs: number;
}

export class PollChannel {
  private call: ClientDuplexStream<PollRequest, PollResponse> | undefined;
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
   * poll sends one poll (its poll_seq is set here) and resolves with its reply; rejects with the poll's error
   * (a BorgError), with DEADLINE_EXCEEDED once expire() finds it past nowMs + timeoutMs, or with UNAVAILABLE when
   * the stream breaks.
   */
  poll(req: PollRequest, nowMs: number, timeoutMs: number): Promise<PollResponse> {
    const call = this.open();
    const seq = this.nextSeq++;
    return new Promise<PollResponse>((resolve, reject) => {
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

  private open(): ClientDuplexStream<PollRequest, PollResponse> {
    if (this.call !== undefined) return this.call;
    // No deadline: the stream lives as long as the channel; each poll's deadline is kept in `waiting`.
    const call = this.client.pollStream(new Metadata());
    this.streamsOpened++;
    const broken = (e: BorgError) => {
      if (this.call !== call) return; // already replaced (or closed): its polls were failed then
      this.call = undefined;
      this.failAll(e);
    };
    call.on('data', (res: PollResponse) => {
      const w = this.waiting.get(res.pollSeq);
      if (w === undefined) return; // expired meanwhile: its deadline already failed it
      this.waiting.delete(res.pollSeq);
      if (res.error !== undefined) w.reject(fromGrpcError({ code: res.error.code, details: res.error.message }));
      else w.resolve(res);
    });
    call.on('error', (e: unknown) => broken(fromGrpcError(e)));
    // The Borglet ended the stream (a restart, a shutdown): whatever it had not answered will not be answered.
    call.on('end', () => broken(new Unavailable(`poll stream to ${this.address} ended`)));
    this.call = call;
    return call;
  }

  private failAll(e: BorgError): void {
    const waiters = [...this.waiting.values()];
    this.waiting.clear();
    for (const w of waiters) w.reject(e);
  }
}
