// PaxosTransport moves PaxosMessages between replicas over gRPC: one long-lived client stream (Paxos.Deliver) to
// each peer, a bounded send queue per peer, batching of whatever is queued when the event loop turns, and
// reconnection with backoff. It only moves messages; the core decides what they mean.
import { connectivityState, credentials as grpcCredentials, makeGenericClientConstructor, type ChannelCredentials, type ClientWritableStream, type Server, type ServerReadableStream, type sendUnaryData } from '@grpc/grpc-js';
import { CHANNEL_OPTIONS, PaxosClient, PaxosMessage_Type, PaxosService, type PaxosBatch, type PaxosDeliverAck, type PaxosMessage } from '../../proto/index';
import {
  MAX_REPLICAS,
  PAXOS_RECONNECT_MAX_MS,
  PAXOS_RECONNECT_MIN_MS,
  PAXOS_SEND_QUEUE_BYTES,
  PAXOS_SEND_QUEUE_MESSAGES,
  PAXOS_TRANSPORT_BATCH_BYTES,
} from '../../cells/limits';
import { assert } from '../../model/assert';
import { encodeBatch } from './wire';

export interface PeerAddress {
  id: number;
  /** address is host:port of the peer's gRPC server (the one its PaxosTransport registered on). */
  address: string;
}

export interface TransportOptions {
  selfId: number;
  /** peers are the other replicas of the cell (static membership). */
  peers: readonly PeerAddress[];
  /** credentials for the client side; insecure when omitted (tests, benchmarks on loopback). */
  credentials?: ChannelCredentials;
  /**
   * onMessage receives each valid incoming message, in the order the peer sent it. It runs on the event loop,
   * never re-entrantly from send().
   */
  onMessage: (m: PaxosMessage) => void;
}

export interface PeerStats {
  sentMessages: number;
  /** droppedMessages were the oldest in a full queue (back-pressure; Paxos retransmits what matters). */
  droppedMessages: number;
  queuedMessages: number;
  queuedBytes: number;
  /** streamFailures counts streams that ended in an error (peer down, connection reset). */
  streamFailures: number;
}

export interface TransportStats {
  receivedMessages: number;
  /** rejectedMessages failed validation (wrong recipient, unknown sender, unknown type) and were dropped. */
  rejectedMessages: number;
  peers: Record<number, PeerStats>;
}

/**
 * PAXOS_GRPC_OPTIONS: CHANNEL_OPTIONS without channelz. Channelz bookkeeping (per-call tracking for a debug
 * service nobody here queries) costs CPU on every call, and the Paxos path and its clients run many small calls.
 */
export const PAXOS_GRPC_OPTIONS = { ...CHANNEL_OPTIONS, 'grpc.enable_channelz': 0 } as const;

/** Channel options for replica-to-replica channels: a dead peer is retried quickly, since failover waits on it. */
const PEER_CHANNEL_OPTIONS = {
  ...PAXOS_GRPC_OPTIONS,
  'grpc.initial_reconnect_backoff_ms': PAXOS_RECONNECT_MIN_MS * 5,
  'grpc.min_reconnect_backoff_ms': PAXOS_RECONNECT_MIN_MS,
  'grpc.max_reconnect_backoff_ms': PAXOS_RECONNECT_MAX_MS,
} as const;

/**
 * PeerClient is the generated Paxos client with the hand-written batch encoder (wire.ts): the same bytes, but each
 * entry is encoded once for the disk and every follower instead of once per use.
 */
const PeerClient = makeGenericClientConstructor({ deliver: { ...PaxosService.deliver, requestSerialize: encodeBatch } }, 'borg.v1.Paxos') as unknown as typeof PaxosClient;

/**
 * estimateBytes bounds a message's encoded size from above without encoding it (the queue's byte bound and the
 * batch split only need an upper estimate; encoding twice would cost more than the estimate saves).
 */
export function estimateBytes(m: PaxosMessage): number {
  let n = 96;
  for (const e of m.entries) n += 40 + e.value.length;
  if (m.snapshot) n += 24 + m.snapshot.data.length;
  return n;
}

// Every type the generated enum knows except UNSPECIFIED; a number from a newer version of the proto is rejected.
const VALID_TYPES = new Set<number>(
  Object.values(PaxosMessage_Type).filter((v): v is number => typeof v === 'number' && v !== PaxosMessage_Type.TYPE_UNSPECIFIED),
);

/**
 * PeerSender owns the stream to one peer. Back-pressure: messages wait in a bounded FIFO while the stream is
 * down or HTTP/2 flow control says stop (write() returned false, until 'drain'). When the FIFO is full the
 * OLDEST message is dropped, never the sender blocked: blocking would stall the node (and its traffic to every
 * other peer) behind one slow replica, while Paxos is built to survive lost messages (heartbeats retransmit the
 * commit index, a lagging acceptor asks for catch-up, a leader re-sends unacknowledged accepts).
 */
class PeerSender {
  private readonly client: PaxosClient;
  private queue: (PaxosMessage | undefined)[] = [];
  private head = 0;
  private queuedBytes = 0;
  private call: ClientWritableStream<PaxosBatch> | undefined;
  private callStartedMs = 0;
  private blocked = false;
  private flushScheduled = false;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private watching = false;
  private backoffMs = PAXOS_RECONNECT_MIN_MS;
  private closed = false;
  readonly stats: PeerStats = { sentMessages: 0, droppedMessages: 0, queuedMessages: 0, queuedBytes: 0, streamFailures: 0 };

  constructor(
    readonly peer: PeerAddress,
    creds: ChannelCredentials,
  ) {
    this.client = new PeerClient(peer.address, creds, PEER_CHANNEL_OPTIONS);
  }

  enqueue(m: PaxosMessage): void {
    if (this.closed) return;
    const size = estimateBytes(m);
    assert(size <= PAXOS_TRANSPORT_BATCH_BYTES, `paxos message of ~${size} bytes exceeds the transport batch bound`);
    this.queue.push(m);
    this.queuedBytes += size;
    while (this.queue.length - this.head > PAXOS_SEND_QUEUE_MESSAGES || this.queuedBytes > PAXOS_SEND_QUEUE_BYTES) {
      this.popOldest();
      this.stats.droppedMessages += 1;
    }
    this.scheduleFlush();
  }

  private popOldest(): PaxosMessage {
    const m = this.queue[this.head];
    assert(m !== undefined, 'popOldest on an empty queue');
    this.queue[this.head] = undefined; // release it for the GC
    this.head += 1;
    this.queuedBytes -= estimateBytes(m);
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    return m;
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    // setImmediate, not a microtask: everything the node sends in this turn of the event loop goes in one batch.
    setImmediate(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  /** flush writes what is queued now (if the stream is up and not blocked); otherwise it stays queued. */
  flush(): void {
    if (this.closed || this.blocked) return;
    if (this.queue.length === this.head) return;
    const call = this.ensureCall();
    if (call === undefined) return;
    while (this.queue.length > this.head && !this.blocked) {
      const messages: PaxosMessage[] = [];
      let bytes = 0;
      while (this.queue.length > this.head) {
        const next = this.queue[this.head];
        assert(next !== undefined, 'queued message missing');
        const size = estimateBytes(next);
        if (messages.length > 0 && bytes + size > PAXOS_TRANSPORT_BATCH_BYTES) break;
        messages.push(this.popOldest());
        bytes += size;
      }
      this.stats.sentMessages += messages.length;
      if (!call.write({ messages })) {
        this.blocked = true;
        call.once('drain', () => {
          this.blocked = false;
          this.flush();
        });
      }
    }
  }

  private ensureCall(): ClientWritableStream<PaxosBatch> | undefined {
    if (this.call) return this.call;
    if (this.reconnectTimer || this.watching) return undefined;
    // Open a stream only on a READY channel: a stream opened while the peer is down fails and takes whatever was
    // written into it along, whereas messages still in our queue wait (bounded) for the peer to come back.
    const channel = this.client.getChannel();
    const state = channel.getConnectivityState(true);
    if (state !== connectivityState.READY) {
      this.watching = true;
      channel.watchConnectivityState(state, Date.now() + PAXOS_RECONNECT_MAX_MS, () => {
        this.watching = false;
        this.flush();
      });
      return undefined;
    }
    const call = this.client.deliver((err) => this.onCallEnd(call, err ?? undefined));
    // Errors are reported to the callback above; this listener only keeps an 'error' event from being unhandled.
    call.on('error', () => {});
    this.call = call;
    this.callStartedMs = Date.now();
    this.blocked = false;
    return call;
  }

  private onCallEnd(call: ClientWritableStream<PaxosBatch>, err: Error | undefined): void {
    if (this.call !== call) return;
    this.call = undefined;
    this.blocked = false;
    if (this.closed) return;
    if (err) this.stats.streamFailures += 1;
    // A stream that lived a while was healthy: start the backoff over. One that died at once doubles it.
    this.backoffMs = Date.now() - this.callStartedMs > 1_000 ? PAXOS_RECONNECT_MIN_MS : Math.min(this.backoffMs * 2, PAXOS_RECONNECT_MAX_MS);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.flush();
    }, this.backoffMs);
  }

  snapshotStats(): PeerStats {
    return { ...this.stats, queuedMessages: this.queue.length - this.head, queuedBytes: this.queuedBytes };
  }

  close(): void {
    this.closed = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    const call = this.call;
    this.call = undefined;
    if (call) call.end();
    this.client.close();
    this.queue = [];
    this.head = 0;
    this.queuedBytes = 0;
  }
}

/**
 * PaxosTransport connects one replica to its peers. registerService() adds the Paxos service to a gRPC server the
 * caller owns (the Borgmaster hosts it beside its API); send() never blocks and never throws for a peer that is
 * down. Incoming messages are validated (recipient, known sender, known type) before onMessage sees them.
 */
export class PaxosTransport {
  private readonly senders = new Map<number, PeerSender>();
  private readonly incoming = new Set<{ call: ServerReadableStream<PaxosBatch, PaxosDeliverAck>; done: sendUnaryData<PaxosDeliverAck> }>();
  private received = 0;
  private rejected = 0;
  private closed = false;

  constructor(private readonly options: TransportOptions) {
    assert(options.peers.length < MAX_REPLICAS, `at most ${MAX_REPLICAS - 1} peers`);
    const creds = options.credentials ?? grpcCredentials.createInsecure();
    for (const p of options.peers) {
      assert(p.id !== options.selfId, 'a replica is not its own peer');
      assert(!this.senders.has(p.id), `peer ${p.id} listed twice`);
      this.senders.set(p.id, new PeerSender(p, creds));
    }
  }

  /** registerService adds Paxos.Deliver to server; call it before server.bindAsync. */
  registerService(server: Server): void {
    server.addService(PaxosService, {
      deliver: (call: ServerReadableStream<PaxosBatch, PaxosDeliverAck>, done: sendUnaryData<PaxosDeliverAck>) => this.accept(call, done),
    });
  }

  private accept(call: ServerReadableStream<PaxosBatch, PaxosDeliverAck>, done: sendUnaryData<PaxosDeliverAck>): void {
    if (this.closed) {
      done(null, {});
      return;
    }
    const entry = { call, done };
    this.incoming.add(entry);
    let finished = false;
    const finish = (): void => {
      if (finished) return;
      finished = true;
      this.incoming.delete(entry);
      done(null, {});
    };
    call.on('data', (batch: PaxosBatch) => {
      if (this.closed) return;
      for (const m of batch.messages) {
        if (this.valid(m)) {
          this.received += 1;
          this.options.onMessage(m);
        } else {
          this.rejected += 1;
        }
      }
    });
    call.on('end', finish);
    call.on('error', () => {
      finished = true;
      this.incoming.delete(entry);
    });
  }

  private valid(m: PaxosMessage): boolean {
    return m.to === this.options.selfId && this.senders.has(m.from) && VALID_TYPES.has(m.type);
  }

  /** send queues m for its recipient (m.to, a peer). It returns at once; delivery is best effort, in order. */
  send(m: PaxosMessage): void {
    if (this.closed) return;
    assert(m.from === this.options.selfId, `message from ${m.from} sent by replica ${this.options.selfId}`);
    const sender = this.senders.get(m.to);
    assert(sender !== undefined, `no peer ${m.to}`);
    sender.enqueue(m);
  }

  /**
   * flush hands every peer's queue to its stream now instead of at the end of this turn of the event loop. The
   * node calls it once it has queued a whole Ready's messages: they still go out as one batch per peer, and a
   * follower can start its fsync before this process runs whatever else is waiting in its event loop.
   */
  flush(): void {
    if (this.closed) return;
    for (const s of this.senders.values()) s.flush();
  }

  stats(): TransportStats {
    const peers: Record<number, PeerStats> = {};
    for (const [id, s] of this.senders) peers[id] = s.snapshotStats();
    return { receivedMessages: this.received, rejectedMessages: this.rejected, peers };
  }

  /** close ends every outgoing stream and answers every incoming one; queued messages are discarded. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const s of this.senders.values()) s.close();
    for (const { done } of this.incoming) done(null, {});
    this.incoming.clear();
  }
}
