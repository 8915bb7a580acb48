// WatchHub turns applied log entries into WatchEvents (Kubernetes' list-watch in Borg's terms, DESIGN.md §5) and
// fans them out to watchers. It keeps a bounded history (WATCH_HISTORY_ENTRIES entries, WATCH_HISTORY_ITEMS
// objects, WATCH_HISTORY_BYTES encoded: entries are kept as protobuf bytes, a tenth of the rendered objects, and
// decoded only for a watcher that resumes) so a watcher can resume from a log index; older than that, or from 0,
// it gets a snapshot first (in
// parts of bounded size). Each watcher has a bounded queue (WATCH_BUFFER_EVENTS): one that falls further behind
// is cut off with a clear status instead of growing the master's memory.
import { assert } from '../../model/assert';
import { MAX_WATCHERS, WATCH_BUFFER_EVENTS, WATCH_HISTORY_BYTES, WATCH_HISTORY_ENTRIES, WATCH_HISTORY_ITEMS } from '../../cells/limits';
import { BorgError } from '../../model/errors';
import { WatchEvent, type Job, type Machine, type Task, type TaskEvent } from '../../proto/index';
import { jobView, machineView, type CellState, type Changes, type JobRec, type MachineRec, type TaskRec } from '../state/index';

/** WATCH_SNAPSHOT_PART_ITEMS bounds the objects in one snapshot part (keeps each message well under the limit). */
export const WATCH_SNAPSHOT_PART_ITEMS = 20_000;

export type TaskRenderer = (task: TaskRec) => Task;

interface HistoryEntry {
  logIndex: number;
  /** bytes: the entry's WatchEvent, encoded. */
  bytes: Uint8Array;
  items: number;
}

export interface WatchHubOptions {
  bufferEvents?: number;
  historyEntries?: number;
  historyItems?: number;
  historyBytes?: number;
  snapshotPartItems?: number;
  maxWatchers?: number;
}

/** Watcher is one subscriber's bounded queue. The transport pulls with take() when it can write. */
export class Watcher {
  /** queue[head..] waits to be taken; taken slots are cleared at once (a taken event must not stay reachable). */
  private queue: (WatchEvent | undefined)[] = [];
  private head = 0;
  closed = false;
  /** cutOff explains why the hub closed this watcher (set once). */
  cutOff: { lastLogIndex: number; reason: string; code: 'resource_exhausted' | 'aborted' } | undefined;
  /** onReady is called when events arrive; the transport sets it. */
  onReady: () => void = () => {};
  lastLogIndex: number;
  /** skipThrough: live events at or below this index were already covered (asked-for start or snapshot). */
  skipThrough: number;

  constructor(
    readonly limit: number,
    fromLogIndex: number,
  ) {
    this.lastLogIndex = fromLogIndex;
    this.skipThrough = fromLogIndex;
  }

  get queued(): number {
    return this.queue.length - this.head;
  }

  /** offer queues an event; false when the watcher is too slow and was cut off. */
  offer(ev: WatchEvent): boolean {
    if (this.closed) return false;
    if (this.queued >= this.limit) {
      this.closed = true;
      this.cutOff = {
        lastLogIndex: this.lastLogIndex,
        code: 'resource_exhausted',
        reason: `watcher fell ${this.queued} events behind (limit ${this.limit}); watch again from log index ${this.lastLogIndex}`,
      };
      this.queue = [];
      this.head = 0;
      this.onReady();
      return false;
    }
    this.queue.push(ev);
    this.onReady();
    return true;
  }

  take(): WatchEvent | undefined {
    if (this.head >= this.queue.length) return undefined;
    const ev = this.queue[this.head];
    // Clear the slot: the array is only compacted now and then, and a consumed event (thousands of rendered tasks
    // during a fill) must not stay alive until then.
    this.queue[this.head++] = undefined;
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    assert(ev !== undefined, 'queued event');
    // lastLogIndex is what the client has fully received once this is written (a snapshot counts when complete).
    if (!ev.snapshot || ev.snapshotLast) this.lastLogIndex = ev.logIndex;
    return ev;
  }
}

export class WatchHub {
  private history: HistoryEntry[] = [];
  private historyItems = 0;
  private historyBytes = 0;
  /** complete: every entry with an index above this is in history. */
  private complete: number;
  private watchers = new Set<Watcher>();

  constructor(
    private readonly state: () => CellState,
    private readonly renderTask: TaskRenderer,
    readonly options: WatchHubOptions = {},
  ) {
    this.complete = state().appliedIndex;
  }

  get watcherCount(): number {
    return this.watchers.size;
  }

  /** reset forgets the history (the state was replaced by a checkpoint); watchers must start over. */
  reset(): void {
    this.history = [];
    this.historyItems = 0;
    this.historyBytes = 0;
    this.complete = this.state().appliedIndex;
    for (const w of this.watchers) {
      w.closed = true;
      w.cutOff = { lastLogIndex: w.lastLogIndex, code: 'aborted', reason: 'the replica restored a checkpoint; watch again from 0' };
      w.onReady();
    }
    this.watchers.clear();
  }

  /** publish records the changes of one applied log entry (all commands of the slot) and fans them out. */
  publish(logIndex: number, changes: readonly Changes[]): void {
    const jobs = new Set<JobRec>();
    const tasks = new Set<TaskRec>();
    const machines = new Set<MachineRec>();
    const deletedTaskIds: string[] = [];
    const deletedJobIds: string[] = [];
    const events: TaskEvent[] = [];
    for (const ch of changes) {
      for (const j of ch.jobs) jobs.add(j);
      for (const t of ch.tasks) tasks.add(t);
      for (const m of ch.machines) machines.add(m);
      deletedTaskIds.push(...ch.deletedTaskIds);
      deletedJobIds.push(...ch.deletedJobIds);
      events.push(...ch.events);
    }
    const state = this.state();
    const deletedTasks = new Set(deletedTaskIds);
    const deletedJobs = new Set(deletedJobIds);
    const ev: WatchEvent = {
      logIndex,
      snapshot: false,
      jobs: [...jobs].filter((j) => !deletedJobs.has(j.id)).map(jobView),
      tasks: [...tasks].filter((t) => !deletedTasks.has(t.id)).map(this.renderTask),
      machines: [...machines].map(machineView),
      deletedTaskIds,
      deletedJobIds,
      events,
      snapshotPart: 0,
      snapshotLast: false,
      cellTimeMs: state.timeMs,
    };
    const items = ev.jobs.length + ev.tasks.length + ev.machines.length + deletedTaskIds.length + events.length;
    if (items === 0) return;
    const bytes = WatchEvent.encode(ev).finish();
    this.history.push({ logIndex, bytes, items });
    this.historyItems += items;
    this.historyBytes += bytes.length;
    const maxEntries = this.options.historyEntries ?? WATCH_HISTORY_ENTRIES;
    const maxItems = this.options.historyItems ?? WATCH_HISTORY_ITEMS;
    const maxBytes = this.options.historyBytes ?? WATCH_HISTORY_BYTES;
    while (this.history.length > maxEntries || ((this.historyItems > maxItems || this.historyBytes > maxBytes) && this.history.length > 1)) {
      const old = this.history.shift();
      assert(old !== undefined, 'history entry');
      this.historyItems -= old.items;
      this.historyBytes -= old.bytes.length;
      this.complete = Math.max(this.complete, old.logIndex);
    }
    for (const w of this.watchers) {
      if (logIndex > w.skipThrough && !w.offer(ev)) this.watchers.delete(w);
    }
  }

  /**
   * subscribe starts a watcher from `fromLogIndex`: 0, or an index older than the history, starts with a
   * snapshot of the whole cell; otherwise the history after it is replayed, then live events follow.
   */
  subscribe(fromLogIndex: number): Watcher {
    const max = this.options.maxWatchers ?? MAX_WATCHERS;
    if (this.watchers.size >= max) throw new BorgError('resource_exhausted', `this replica already serves ${this.watchers.size} watchers (limit ${max}); watch another replica or retry later`);
    const w = new Watcher(this.options.bufferEvents ?? WATCH_BUFFER_EVENTS, fromLogIndex);
    if (fromLogIndex === 0 || fromLogIndex < this.complete) {
      for (const part of this.snapshotParts()) w.offer(part);
      w.skipThrough = this.state().appliedIndex;
    } else {
      for (const h of this.history) if (h.logIndex > fromLogIndex) w.offer(WatchEvent.decode(h.bytes));
    }
    if (!w.closed) this.watchers.add(w);
    return w;
  }

  unsubscribe(w: Watcher): void {
    w.closed = true;
    this.watchers.delete(w);
  }

  /** snapshotParts renders the whole cell at its applied index, in parts of bounded size. */
  snapshotParts(): WatchEvent[] {
    const state = this.state();
    const parts: WatchEvent[] = [];
    let jobs: Job[] = [];
    let tasks: Task[] = [];
    let machines: Machine[] = [];
    const flush = (last: boolean) => {
      parts.push({
        logIndex: state.appliedIndex,
        snapshot: true,
        jobs,
        tasks,
        machines,
        deletedTaskIds: [],
        deletedJobIds: [],
        events: [],
        snapshotPart: parts.length,
        snapshotLast: last,
        cellTimeMs: state.timeMs,
      });
      jobs = [];
      tasks = [];
      machines = [];
    };
    const partItems = this.options.snapshotPartItems ?? WATCH_SNAPSHOT_PART_ITEMS;
    const room = () => jobs.length + tasks.length + machines.length < partItems;
    for (const m of state.machines.values()) {
      if (!room()) flush(false);
      machines.push(machineView(m));
    }
    for (const j of state.jobs.values()) {
      if (!room()) flush(false);
      jobs.push(jobView(j));
      for (const t of j.tasks) {
        if (!room()) flush(false);
        tasks.push(this.renderTask(t));
      }
    }
    flush(true);
    return parts;
  }
}

