// The scheduler process's cached cell (B15 §3.4): the master's Watch stream (a snapshot, then deltas) folded into
// the library's CellSnapshot and PendingQueue. Pure: events in, cache updated; no IO, so it is tested in tables.
// Tasks held back after the master rejected them wait out `holdMs` before they are queued again.
import { CellSnapshot } from '../snapshot';
import { PendingQueue } from '../pending_queue';
import { IdTable, machineFromProto, reservationFromProto, taskFromProto } from '../convert';
import { EventType, MachineState, TaskState, type JobSpec, type Task, type WatchEvent } from '../../proto/index';
import { equal, type Resources } from '../../model/resources';

/** AVOID_AFTER_FAILURE_MS: how long a task avoids a machine it failed on. */
const AVOID_AFTER_FAILURE_MS = 5 * 60_000;

function jobKeyOf(taskId: string): string {
  return taskId.slice(0, taskId.lastIndexOf('/'));
}

export class CachedCell {
  snap = new CellSnapshot();
  queue = new PendingQueue();
  readonly tasks = new IdTable();
  readonly machines = new IdTable();
  /** logIndex of the last event folded in (the next Watch resumes after it). */
  logIndex = 0;
  cellTimeMs = 0;
  /** ready: a complete snapshot has arrived. */
  ready = false;
  /**
   * arrivals counts the tasks that joined the pending queue (submitted, or back to pending after an eviction or a
   * failure, or released from a hold); a task already queued whose record changed (its verdict, say) is not one.
   */
  arrivals = 0;
  private readonly jobs = new Map<string, { spec: JobSpec; version: number }>();
  private readonly specVersion = new Map<number, number>();
  /** held: task id -> cell time before which a rejected task, or one in restart back-off, is not queued again. */
  private readonly held = new Map<number, { task: Task; untilMs: number }>();
  /** nextReleaseMs: the earliest time a held task is due (Infinity with none held), so a pass can be timed for it. */
  nextReleaseMs = Infinity;

  /** apply folds one Watch event in. A snapshot's first part starts the cache over. */
  apply(ev: WatchEvent): void {
    if (ev.snapshot && ev.snapshotPart === 0) this.reset();
    if (ev.cellTimeMs > this.cellTimeMs) this.cellTimeMs = ev.cellTimeMs;
    for (const j of ev.jobs) if (j.spec) this.jobs.set(`${j.spec.cell}/${j.spec.user}/${j.spec.name}`, { spec: j.spec, version: j.specVersion });
    for (const id of ev.deletedJobIds) this.jobs.delete(id);
    for (const m of ev.machines) this.applyMachine(m);
    for (const t of ev.tasks) this.applyTask(t);
    // A task that failed on a machine is not put straight back there (B15 §3.2: avoid task::machine pairings
    // that crashed). The failure shows in the events; the task itself is already back to PENDING by then.
    for (const e of ev.events) {
      if (e.type !== EventType.FAIL || !e.machine) continue;
      const mid = this.machines.lookup(e.machine);
      if (mid !== undefined && this.snap.hasMachine(mid)) this.snap.avoidPairing(this.tasks.id(e.taskId), mid, e.timeMs + AVOID_AFTER_FAILURE_MS);
    }
    for (const id of ev.deletedTaskIds) this.forget(this.tasks.id(id));
    if (!ev.snapshot || ev.snapshotLast) {
      this.logIndex = ev.logIndex;
      this.ready = true;
    }
    this.release();
  }

  /** hold keeps a task the master rejected out of the queue until the cell's clock passes untilMs. */
  hold(taskName: string, untilMs: number): void {
    const id = this.tasks.id(taskName);
    const task = this.queuedTask(id);
    if (this.snap.isPlaced(id)) this.snap.removeTask(id);
    this.reservations.delete(id);
    this.queue.remove(id);
    if (task) this.holdUntil(id, task, untilMs);
  }

  private holdUntil(id: number, task: Task, untilMs: number): void {
    this.held.set(id, { task, untilMs });
    if (untilMs < this.nextReleaseMs) this.nextReleaseMs = untilMs;
  }

  specVersionOf(taskId: number): number {
    return this.specVersion.get(taskId) ?? 0;
  }

  private readonly protoTasks = new Map<number, Task>();
  /** reservations the snapshot charges placed tasks, to skip updates that change nothing. */
  private readonly reservations = new Map<number, Resources>();

  private queuedTask(id: number): Task | undefined {
    return this.protoTasks.get(id);
  }

  /** release queues held tasks whose time has come. */
  release(nowMs = this.cellTimeMs): void {
    if (nowMs < this.nextReleaseMs) return;
    this.nextReleaseMs = Infinity;
    for (const [id, h] of this.held) {
      if (h.untilMs > nowMs) {
        if (h.untilMs < this.nextReleaseMs) this.nextReleaseMs = h.untilMs;
        continue;
      }
      this.held.delete(id);
      const t = this.protoTasks.get(id);
      if (t && t.state === TaskState.PENDING) this.enqueue(t);
    }
  }

  private reset(): void {
    this.snap = new CellSnapshot();
    this.queue = new PendingQueue();
    this.jobs.clear();
    this.specVersion.clear();
    this.held.clear();
    this.nextReleaseMs = Infinity;
    this.protoTasks.clear();
    this.reservations.clear();
    this.ready = false;
  }

  private applyMachine(m: Parameters<typeof machineFromProto>[0]): void {
    if (m.state === MachineState.MACHINE_STATE_UNSPECIFIED) return;
    const sm = machineFromProto(m, this.snap, this.machines);
    if (this.snap.hasMachine(sm.id)) this.snap.updateMachine(sm);
    else this.snap.addMachine(sm);
  }

  private applyTask(t: Task): void {
    const id = this.tasks.id(t.id);
    this.protoTasks.set(id, t);
    const versionBefore = this.specVersion.get(id);
    this.specVersion.set(id, t.specVersion);
    const job = this.jobs.get(jobKeyOf(t.id));
    switch (t.state) {
      case TaskState.PENDING: {
        if (this.snap.isPlaced(id)) this.snap.removeTask(id);
        this.reservations.delete(id);
        // A task in restart back-off waits it out before it is planned again (the master would refuse it).
        if (t.notBeforeMs > this.cellTimeMs) {
          this.queue.remove(id);
          this.holdUntil(id, t, t.notBeforeMs);
          return;
        }
        if (!this.held.has(id) && job) this.enqueue(t);
        return;
      }
      case TaskState.RUNNING: {
        this.queue.remove(id);
        this.held.delete(id);
        const mid = t.machine ? this.machines.lookup(t.machine) : undefined;
        if (mid === undefined || !job || !this.snap.hasMachine(mid)) return;
        const reservation = reservationFromProto(t);
        if (this.snap.isPlaced(id)) {
          // Moved, or updated in place to another spec version (a new priority, which decides who may preempt
          // it and what a candidate is charged for it): placed again as it is now.
          if (this.snap.machineOfTask(id) !== mid || versionBefore !== t.specVersion) this.snap.removeTask(id);
          else {
            const placed = this.reservations.get(id);
            if (placed === undefined || !equal(placed, reservation)) {
              this.snap.updateReservation(id, reservation);
              this.reservations.set(id, reservation);
            }
            return;
          }
        }
        this.snap.placeTask(taskFromProto(t, job.spec, this.snap, this.tasks), mid, reservation);
        this.reservations.set(id, reservation);
        return;
      }
      default:
        this.forget(id);
    }
  }

  private enqueue(t: Task): void {
    const job = this.jobs.get(jobKeyOf(t.id));
    if (!job) return;
    const task = taskFromProto(t, job.spec, this.snap, this.tasks);
    if (!this.queue.has(task.id)) this.arrivals++;
    this.queue.add(task);
  }

  private forget(id: number): void {
    this.queue.remove(id);
    this.held.delete(id);
    this.protoTasks.delete(id);
    this.reservations.delete(id);
    if (this.snap.isPlaced(id)) this.snap.removeTask(id);
  }
}
