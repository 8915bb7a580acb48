// LiveFeed pushes state changes to open pages over Server-Sent Events. Notices from the source are coalesced for
// STATUS_LIVE_COALESCE_MS, so a burst of applied entries becomes one small message; each page's script decides
// from the ids whether it shows something that changed. Streams are bounded in number and in unread bytes.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { STATUS_LIVE_BUFFER_BYTES, STATUS_LIVE_CLIENTS_MAX, STATUS_LIVE_COALESCE_MS } from '../../cells/limits';
import { changeNotice } from './cell_source';
import type { ChangeNotice, StatusSource } from './source';

/** HEARTBEAT_MS: a comment line this often keeps proxies from closing idle streams and finds dead peers. */
const HEARTBEAT_MS = 15_000;

interface Pending {
  logIndex: number;
  all: boolean;
  jobs: Set<string>;
  tasks: Set<string>;
  machines: Set<string>;
  events: number;
}

export class LiveFeed {
  private readonly clients = new Set<ServerResponse>();
  private pending: Pending | undefined;
  private flushTimer: NodeJS.Timeout | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  /** sent counts notices written (to any client), for tests and the benchmark. */
  sent = 0;

  constructor(
    private readonly source: StatusSource,
    private readonly options: { coalesceMs?: number; maxClients?: number } = {},
  ) {}

  get clientCount(): number {
    return this.clients.size;
  }

  start(): void {
    if (this.unsubscribe !== undefined) return;
    this.unsubscribe = this.source.subscribe((n) => this.offer(n));
    this.heartbeat = setInterval(() => this.broadcast(': keep-alive\n\n'), HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  /** attach turns a request into an event stream; false (and a 503) when too many are open. */
  attach(req: IncomingMessage, res: ServerResponse): boolean {
    if (this.clients.size >= (this.options.maxClients ?? STATUS_LIVE_CLIENTS_MAX)) {
      res.writeHead(503, { 'Content-Type': 'text/plain; charset=utf-8', 'Retry-After': '10' });
      res.end(`too many live pages open on this replica (limit ${this.options.maxClients ?? STATUS_LIVE_CLIENTS_MAX})\n`);
      return false;
    }
    res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-store', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' });
    res.write(`retry: 2000\nevent: hello\ndata: ${JSON.stringify({ logIndex: this.source.replica().appliedIndex })}\n\n`);
    this.clients.add(res);
    const drop = () => this.clients.delete(res);
    req.on('close', drop);
    res.on('error', drop);
    return true;
  }

  private offer(n: ChangeNotice): void {
    const p = this.pending ?? { logIndex: 0, all: false, jobs: new Set<string>(), tasks: new Set<string>(), machines: new Set<string>(), events: 0 };
    p.logIndex = Math.max(p.logIndex, n.logIndex);
    p.all ||= n.all;
    if (!p.all) {
      for (const id of n.jobs) p.jobs.add(id);
      for (const id of n.tasks) p.tasks.add(id);
      for (const id of n.machines) p.machines.add(id);
    }
    p.events += n.events;
    this.pending = p;
    if (this.flushTimer === undefined) {
      this.flushTimer = setTimeout(() => this.flush(), this.options.coalesceMs ?? STATUS_LIVE_COALESCE_MS);
      this.flushTimer.unref();
    }
  }

  private flush(): void {
    this.flushTimer = undefined;
    const p = this.pending;
    this.pending = undefined;
    if (p === undefined || this.clients.size === 0) return;
    const n = p.all ? { logIndex: p.logIndex, all: true, jobs: [], tasks: [], machines: [], events: p.events } : changeNotice(p.logIndex, p.jobs, p.tasks, p.machines, p.events);
    this.broadcast(`event: change\ndata: ${JSON.stringify(n)}\n\n`);
    this.sent++;
  }

  private broadcast(chunk: string): void {
    for (const res of this.clients) {
      // A browser that stops reading is cut off rather than buffered without bound; it reconnects on its own.
      if (res.writableLength > STATUS_LIVE_BUFFER_BYTES) {
        this.clients.delete(res);
        res.destroy();
        continue;
      }
      res.write(chunk);
    }
  }

  close(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    if (this.flushTimer !== undefined) clearTimeout(this.flushTimer);
    if (this.heartbeat !== undefined) clearInterval(this.heartbeat);
    this.flushTimer = undefined;
    this.heartbeat = undefined;
    for (const res of this.clients) res.end();
    this.clients.clear();
  }
}
