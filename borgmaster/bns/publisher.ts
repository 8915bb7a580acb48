// BnsPublisher keeps Redis equal to the elected master's view of running tasks. Redis being down never stops
// the cell: writes fail fast (no offline queue), the publisher marks itself dirty, and on every (re)connect it
// reconciles Redis against its full desired set, so nothing stale and nothing missing survives an outage.
// All Redis work runs through one promise chain, so a reconcile and an incremental write never interleave.
import { Redis } from 'ioredis';
import { formatJobId, formatTaskId, type JobId } from '../../model/ids';
import { reconcile, desiredFrom, type BnsWrite, type Desired } from './reconcile';
import { cellPattern, encodeEndpoint, jobKey, taskKey, SIZE_FIELD, type BnsJob, type BnsRecord } from './records';

export interface BnsPublisherOptions {
  cell: string;
  /** redis address host:port */
  address: string;
  /** reconnectMs: delay between reconnect attempts while Redis is down. */
  reconnectMs?: number;
  log?: (msg: string) => void;
}

export interface BnsStatus {
  connected: boolean;
  records: number;
  jobs: number;
  reconciles: number;
  lastReconcileWrites: number;
  failedWrites: number;
}

const SCAN_COUNT = 1000;

export class BnsPublisher {
  private readonly redis: Redis;
  private readonly desired = new Map<string, BnsRecord>();
  private readonly desiredJobs = new Map<string, BnsJob>();
  private chain: Promise<void> = Promise.resolve();
  private dirty = true;
  private closed = false;
  private readonly stats = { reconciles: 0, lastReconcileWrites: 0, failedWrites: 0 };

  constructor(private readonly options: BnsPublisherOptions) {
    const [host, port] = splitAddress(options.address);
    this.redis = new Redis({
      host,
      port,
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      connectTimeout: 2000,
      retryStrategy: () => (this.closed ? null : (options.reconnectMs ?? 1000)),
    });
    this.redis.on('ready', () => this.enqueue(() => this.reconcileNow()));
    this.redis.on('error', () => {
      // Connection errors are expected while Redis is down; 'ready' brings us back.
    });
    this.redis.connect().catch(() => undefined);
  }

  /** publish records a running task's endpoint and writes it if Redis is up. */
  publish(record: BnsRecord): void {
    this.desired.set(formatTaskId(record.id), record);
    const value = encodeEndpoint(record.endpoint);
    this.write([
      { kind: 'set', key: taskKey(record.id), value },
      { kind: 'hset', key: jobKey(record.id), field: String(record.id.index), value },
    ]);
  }

  /** unpublish removes a task that is no longer running. */
  unpublish(record: Pick<BnsRecord, 'id'>): void {
    if (!this.desired.delete(formatTaskId(record.id))) return;
    this.write([
      { kind: 'del', key: taskKey(record.id) },
      { kind: 'hdel', key: jobKey(record.id), field: String(record.id.index) },
    ]);
  }

  /** publishJob records a job's size (its task count) and writes it if it changed. */
  publishJob(job: BnsJob): void {
    const id = formatJobId(job.id);
    if (this.desiredJobs.get(id)?.size === job.size) return;
    this.desiredJobs.set(id, job);
    this.write([{ kind: 'hset', key: jobKey(job.id), field: SIZE_FIELD, value: String(job.size) }]);
  }

  /** unpublishJob removes a job that no longer exists (its tasks are unpublished one by one). */
  unpublishJob(id: JobId): void {
    if (!this.desiredJobs.delete(formatJobId(id))) return;
    this.write([{ kind: 'hdel', key: jobKey(id), field: SIZE_FIELD }]);
  }

  /** replaceAll sets the whole desired view (e.g. on becoming leader) and reconciles Redis against it. */
  replaceAll(records: Iterable<BnsRecord>, jobs: Iterable<BnsJob> = []): Promise<void> {
    this.desired.clear();
    this.desiredJobs.clear();
    for (const r of records) this.desired.set(formatTaskId(r.id), r);
    for (const j of jobs) this.desiredJobs.set(formatJobId(j.id), j);
    this.dirty = true;
    return this.enqueue(() => this.reconcileNow());
  }

  status(): BnsStatus {
    return { connected: this.redis.status === 'ready', records: this.desired.size, jobs: this.desiredJobs.size, ...this.stats };
  }

  /** flush resolves when every queued write has been attempted. */
  flush(): Promise<void> {
    return this.enqueue(async () => undefined);
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
    this.redis.disconnect();
  }

  private write(writes: BnsWrite[]): void {
    void this.enqueue(async () => {
      if (this.dirty) return this.reconcileNow();
      if (this.redis.status !== 'ready') {
        this.dirty = true;
        return;
      }
      await this.apply(writes);
    });
  }

  private enqueue(f: () => Promise<void>): Promise<void> {
    this.chain = this.chain.then(f).catch((e: unknown) => {
      this.dirty = true;
      this.stats.failedWrites++;
      this.options.log?.(`bns: redis write failed, will reconcile on reconnect: ${e instanceof Error ? e.message : String(e)}`);
    });
    return this.chain;
  }

  private async reconcileNow(): Promise<void> {
    if (this.redis.status !== 'ready' || this.closed) {
      this.dirty = true;
      return;
    }
    const writes = reconcile(desiredFrom(this.desired.values(), this.desiredJobs.values()), await this.readCell());
    await this.apply(writes);
    this.dirty = false;
    this.stats.reconciles++;
    this.stats.lastReconcileWrites = writes.length;
    if (writes.length > 0) this.options.log?.(`bns: reconciled redis with ${writes.length} writes`);
  }

  private async readCell(): Promise<Desired> {
    const actual: Desired = { strings: new Map(), hashes: new Map() };
    let cursor = '0';
    do {
      const [next, keys] = await this.redis.scan(cursor, 'MATCH', cellPattern(this.options.cell), 'COUNT', SCAN_COUNT);
      cursor = next;
      for (const key of keys) {
        const type = await this.redis.type(key);
        if (type === 'string') {
          const v = await this.redis.get(key);
          if (v !== null) actual.strings.set(key, v);
        } else if (type === 'hash') {
          actual.hashes.set(key, new Map(Object.entries(await this.redis.hgetall(key))));
        } else {
          // A key of another type under our prefix is not ours to interpret: replace it.
          actual.strings.set(key, '');
        }
      }
    } while (cursor !== '0');
    return actual;
  }

  private async apply(writes: BnsWrite[]): Promise<void> {
    if (writes.length === 0) return;
    const tx = this.redis.multi();
    for (const w of writes) {
      switch (w.kind) {
        case 'set':
          tx.set(w.key, w.value);
          break;
        case 'hset':
          tx.hset(w.key, w.field, w.value);
          break;
        case 'del':
          tx.del(w.key);
          break;
        case 'hdel':
          tx.hdel(w.key, w.field);
          break;
      }
    }
    const results = await tx.exec();
    if (results === null) throw new Error('redis transaction aborted');
    for (const [err] of results) if (err) throw err;
  }
}

export function splitAddress(address: string): [string, number] {
  const i = address.lastIndexOf(':');
  return [address.slice(0, i), Number(address.slice(i + 1))];
}
