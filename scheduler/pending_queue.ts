// The pending queue (B15 §3.2): tasks are scheduled from high to low priority, and round-robin across users
// within a priority, so one user's huge job cannot starve the others at its priority. Bounded by
// PENDING_QUEUE_MAX; adding a task that is already queued replaces it (the watch stream and the scheduler's own
// evictions may both report the same task).
import { QuotaExceeded } from '../model/errors';
import { PENDING_QUEUE_MAX } from '../cells/limits';
import { IdMap } from './id_map';
import { validateTask, type TaskClass } from './task_class';
import type { SchedTask, Verdict } from './types';

/** QueueEntry is a queued task plus what the scheduler remembers about it between passes (its class). */
export class QueueEntry {
  removed = false;
  /** cls: the task's equivalence class, set by the scheduler so a long-pending task is keyed only once. */
  cls: TaskClass | undefined = undefined;
  /** verdict: the last verdict given, reused while its text is unchanged (a long tail allocates nothing per pass). */
  verdict: Verdict | undefined = undefined;
  /**
   * parkedBy: the scheduler holding this entry with its exhausted class (scheduler.ts, parking; PendingQueue.park).
   * A parked entry is out of the ordering; that scheduler answers it from the class's verdict until room appears.
   */
  parkedBy: object | undefined = undefined;
  /** verdictPass: the parking scheduler's pass that last decided this entry (so a pass decides it once). */
  verdictPass = 0;
  /** parkedWhy: the verdict this entry was parked with. */
  parkedWhy: string | undefined = undefined;
  /**
   * list: the user's list the entry is still in (a parked or removed one stays there until the next ordering), so
   * leaving it costs no lookup by priority and user; undefined once the ordering dropped it.
   */
  list: UserList | undefined = undefined;
  /** id: the task's id, kept here so that a walk over parked entries reads one object per entry, not two. */
  readonly id: number;
  constructor(readonly task: SchedTask) {
    this.id = task.id;
  }
}

/**
 * UserList is one user's entries at one priority, in arrival order. `holes` counts the entries in it that left the
 * ordering (removed, or parked) since the last ordering, which drops them: an ordering walks the entries that can
 * be scheduled, not the parked tail of a loaded cell.
 */
class UserList {
  entries: QueueEntry[] = [];
  holes = 0;
}

export class PendingQueue {
  private readonly byId = new IdMap<QueueEntry>();
  /** levels: priority -> user -> entries in arrival order (removed and parked entries are dropped when ordering). */
  private readonly levels = new Map<number, Map<number, UserList>>();
  private rotation = 0;
  /** parkOwner: the one scheduler whose parked entries are out of the ordering (another caller gets them back). */
  private parkOwner: object | undefined = undefined;
  private readonly orderBuf: QueueEntry[] = [];
  private readonly prioBuf: number[] = [];
  private readonly listsBuf: QueueEntry[][] = [];
  private readonly activeBuf: QueueEntry[][] = [];
  private readonly cursorBuf: number[] = [];
  /** demandCpuMillis, demandRamBytes: sums of the queued tasks' limits (the workload shape the hybrid scorer uses). */
  demandCpuMillis = 0;
  demandRamBytes = 0;

  constructor(readonly capacity = PENDING_QUEUE_MAX) {}

  get size(): number {
    return this.byId.size;
  }

  has(taskId: number): boolean {
    return this.byId.has(taskId);
  }

  get(taskId: number): SchedTask | undefined {
    return this.byId.get(taskId)?.task;
  }

  /**
   * add queues a task (validated); a full queue refuses with QuotaExceeded rather than growing without bound.
   * Returns the new entry, or undefined when this very task object was queued already.
   */
  add(task: SchedTask): QueueEntry | undefined {
    validateTask(task);
    return this.insert(task);
  }

  /**
   * requeue puts back a task object that this queue validated when it was added, and that a scheduler placed and
   * has now evicted, with its class: a victim's way back to pending, without validating it again.
   */
  requeue(task: SchedTask, cls: TaskClass): void {
    this.insert(task, cls);
  }

  private insert(task: SchedTask, cls?: TaskClass): QueueEntry | undefined {
    if (this.byId.size >= this.capacity && !this.byId.has(task.id)) throw new QuotaExceeded(`pending queue is full (${this.capacity} tasks)`);
    // One probe of the id table for the lookup and the insertion; the rare re-add of the very same task object
    // puts the old entry back.
    const e = new QueueEntry(task);
    e.cls = cls;
    const old = this.byId.swap(task.id, e);
    if (old !== undefined) {
      if (old.task === task) {
        this.byId.set(task.id, old);
        return undefined;
      }
      this.forget(old);
    }
    this.countDemand(e, 1);
    this.append(e);
    return e;
  }

  /** remove drops a task (placed, killed); unknown ids are ignored. */
  remove(taskId: number): boolean {
    const e = this.byId.take(taskId);
    if (e === undefined) return false;
    this.forget(e);
    return true;
  }

  /**
   * park takes a queued entry out of the ordering for `owner` (a scheduler parking it with its exhausted class);
   * unpark puts it back, behind its user's other entries at its priority. An ordering for another owner, or for
   * none, first puts every parked entry back.
   */
  park(e: QueueEntry, owner: object): void {
    if (owner !== this.parkOwner) this.releaseParked(owner);
    if (e.parkedBy !== undefined || e.removed) return;
    e.parkedBy = owner;
    if (e.list !== undefined) e.list.holes++;
  }

  unpark(e: QueueEntry): void {
    if (e.parkedBy === undefined) return;
    e.parkedBy = undefined;
    if (e.removed) return;
    // Still in its list (parked and unparked between two orderings): it is no hole after all.
    if (e.list !== undefined) e.list.holes--;
    else this.append(e);
  }

  /** releaseParked puts every parked entry back in the ordering and makes `owner` the one that may park. */
  private releaseParked(owner: object | undefined): void {
    this.byId.forEach((e) => this.unpark(e));
    this.parkOwner = owner;
  }

  private forget(e: QueueEntry): void {
    e.removed = true;
    if (e.list !== undefined && e.parkedBy === undefined) e.list.holes++;
    // The class's block of parked verdicts no longer matches its entries (scheduler.ts emitParked).
    if (e.parkedBy !== undefined && e.cls !== undefined) e.cls.parkedDirty = true;
    this.countDemand(e, -1);
  }

  /**
   * countDemand adds (sign 1) or takes away (-1) an entry's limits in the demand sums. Its class, once known, holds
   * the same numbers (a class is keyed by them) in an object the scheduler has at hand, where the task's limits are
   * one more object to fetch: a victim's, for one, was last read when it was placed.
   */
  private countDemand(e: QueueEntry, sign: 1 | -1): void {
    const c = e.cls;
    this.demandCpuMillis += sign * (c !== undefined ? c.needCpu : e.task.limit.cpuMillis);
    this.demandRamBytes += sign * (c !== undefined ? c.needRam : e.task.limit.ramBytes);
  }

  private append(e: QueueEntry): void {
    const list = this.listOf(e.task);
    list.entries.push(e);
    e.list = list;
  }

  /** listOf: the user's list at the task's priority, created when missing. */
  private listOf(task: SchedTask): UserList {
    let users = this.levels.get(task.priority);
    if (users === undefined) {
      users = new Map();
      this.levels.set(task.priority, users);
    }
    let list = users.get(task.user);
    if (list === undefined) {
      list = new UserList();
      users.set(task.user, list);
    }
    return list;
  }

  /** ordered returns the queued tasks in scheduling order (see orderedEntries). */
  ordered(): SchedTask[] {
    return this.orderedEntries().map((e) => e.task);
  }

  /**
   * orderedEntries returns the queue in scheduling order: priorities high to low; within a priority, users take
   * turns one task at a time, starting from a user that rotates every call so no user is always first. Entries
   * parked by `owner` are left out (those of any other owner are put back first). The returned array is the
   * queue's own buffer, valid until the next call (a pass would otherwise allocate and drop an array of the whole
   * queue every time).
   */
  orderedEntries(owner?: object): readonly QueueEntry[] {
    if (owner !== this.parkOwner) this.releaseParked(owner);
    const out = this.orderBuf;
    out.length = 0;
    const prios = this.prioBuf;
    prios.length = 0;
    for (const p of this.levels.keys()) prios.push(p);
    prios.sort(descending);
    const rot = this.rotation++;
    const lists = this.listsBuf;
    for (const p of prios) {
      const users = this.levels.get(p) as Map<number, UserList>;
      lists.length = 0;
      users.forEach(compactInto, lists);
      if (users.size === 0) this.levels.delete(p);
      if (lists.length === 0) continue;
      // Round-robin: each turn takes the next task of every user that still has one; users that run out leave the
      // rotation, so the work is linear in the number of tasks.
      const n = lists.length;
      const start = rot % n;
      const active = this.activeBuf;
      const cursor = this.cursorBuf;
      active.length = 0;
      cursor.length = 0;
      for (let k = 0; k < n; k++) {
        active.push(lists[(start + k) % n] as QueueEntry[]);
        cursor.push(0);
      }
      while (active.length > 0) {
        let w = 0;
        for (let i = 0; i < active.length; i++) {
          const l = active[i] as QueueEntry[];
          let c = cursor[i] as number;
          out.push(l[c++] as QueueEntry);
          if (c < l.length) {
            active[w] = l;
            cursor[w] = c;
            w++;
          }
        }
        // A user ran out (setting an array's length calls into the runtime, so not on every turn).
        if (w !== active.length) {
          active.length = w;
          cursor.length = w;
        }
      }
    }
    return out;
  }
}

const descending = (a: number, b: number): number => b - a;

/**
 * compactInto (a Map.forEach callback, `this` the lists of the priority being ordered): drops the list's removed and
 * parked entries if it has holes, forgets the list when it is empty, and otherwise adds its entries to the lists.
 */
function compactInto(this: QueueEntry[][], list: UserList, user: number, users: Map<number, UserList>): void {
  if (list.holes > 0) {
    const l = list.entries;
    let w = 0;
    for (let i = 0; i < l.length; i++) {
      const e = l[i] as QueueEntry;
      if (e.removed || e.parkedBy !== undefined) {
        e.list = undefined;
        continue;
      }
      l[w++] = e;
    }
    l.length = w;
    list.holes = 0;
  }
  if (list.entries.length === 0) users.delete(user);
  else this.push(list.entries);
}
