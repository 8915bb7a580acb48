// DrivenCell drives a real CellState with real commands for the status page's tests and benchmark: machines are
// registered, jobs created, tasks scheduled by a real scheduler pass (scheduler/) whose plan goes through the
// master's real CommitPlan re-check, and the Borglet-observed transitions applied as commands. Each applied
// command is published to a real WatchHub, the change stream the status page follows. Only the Paxos round is
// missing: commands are applied in order at increasing log indexes, as a single replica would after choosing them.
import { assert } from '../../model/assert';
import { SeededRng } from '../../model/rng';
import { bandOf } from '../../model/priority';
import type { Resources } from '../../model/resources';
import { EventType, TaskState, type CommandResult, type Machine } from '../../proto/index';
import { CellState, bodies, command, jobSpec, machine, machineView, reservationOf, taskView, type JobSpecInput, type TaskRec } from '../../borgmaster/state/index';
import { WatchHub } from '../../borgmaster/api/watch_hub';
import { WhyPendingStore, commitPlan } from '../../borgmaster/plan/index';
import { BorgMetrics, CellStateSource, StatusServer, UsageBook, followWatchHub, type LogReader, type ReplicaInfo } from '../../borgmaster/status/index';
import { CellSnapshot, IdTable, PendingQueue, Scheduler, assignmentToProto, machineFromProto, planVerdicts, taskFromProto, verdictToProto } from '../../scheduler/index';

type Body = Parameters<typeof command>[0];

export interface PassResult {
  placed: number;
  pending: number;
  passSeconds: number;
}

export class DrivenCell {
  readonly state: CellState;
  readonly hub: WatchHub;
  readonly whyPending = new WhyPendingStore();
  /** timeMs is the leader's clock stamped into each command; tests move it forward. */
  timeMs = Date.UTC(2026, 0, 1);
  private index = 0;
  private requestSeq = 0;
  private readonly rng = new SeededRng(7);
  /** usage: soft-state samples, as link shards would record them from Borglet replies. */
  readonly usage = new UsageBook();
  /** logs: what a task's log tail read returns; tests set it (the replica wires the Borglet's TaskLogs RPC). */
  logs: LogReader | undefined;
  /** publishHub: false skips the WatchHub (the benchmark's bulk load, where nobody watches yet). */
  publishHub = true;

  constructor(readonly cell = 'test') {
    this.state = new CellState(cell);
    this.hub = new WatchHub(() => this.state, (t) => taskView(t, cell, this.whyPending.get(t.id) ?? ''));
  }

  apply(body: Body, requestId = ''): CommandResult {
    this.index++;
    const out = this.state.apply(command(body, { timeMs: this.timeMs, requestId, caller: requestId === '' ? '' : 'test' }), this.index);
    if (this.publishHub) this.hub.publish(this.index, [out.changes]);
    return out.result;
  }

  /** must applies and asserts the command succeeded. */
  must(body: Body): CommandResult {
    const r = this.apply(body);
    assert(r.ok, `command failed: ${r.errorCode} ${r.errorMessage}`);
    return r;
  }

  addMachine(name: string, capacity: Partial<Resources> = {}, partial: Partial<Machine> = {}): void {
    this.must(bodies.registerMachine(machine(name, capacity, partial)));
  }

  createJob(input: JobSpecInput): void {
    this.must(bodies.createJob(jobSpec({ cell: this.cell, ...input })));
  }

  /** quota sets a user's quota in the band of `priority` (prod quotas must fit the cell's capacity together). */
  quota(user: string, priority: number, limit: Partial<Resources>): void {
    this.must(bodies.setQuota(user, bandOf(priority), { cpuMillis: 0, ramBytes: 0, diskBytes: 0, ports: 0, ...limit }));
  }

  /** report applies a Borglet-observed transition (FAIL, FINISH, KILL, LOST, EVICT) of a running task. */
  report(taskId: string, event: EventType, message = '', exitCode = 0): void {
    const r = this.must(bodies.transitions([{ taskId, event, message, exitCode }]));
    assert(r.acceptedTaskIds.includes(taskId), `transition of ${taskId} refused: ${JSON.stringify(r.rejected)}`);
  }

  task(id: string): TaskRec {
    const t = this.state.lookupTask(id);
    assert(t !== undefined, `task ${id}`);
    return t;
  }

  /**
   * schedulePass runs one real scheduler pass over the pending tasks against a snapshot of the state and commits
   * the plan through the master's CommitPlan (which re-checks and proposes one command), keeping the verdicts.
   */
  async schedulePass(): Promise<PassResult> {
    const started = process.hrtime.bigint();
    const snap = new CellSnapshot();
    const machines = new IdTable();
    const tasks = new IdTable();
    for (const m of this.state.machines.values()) snap.addMachine(machineFromProto(machineView(m), snap, machines));
    const queue = new PendingQueue();
    const specVersion = new Map<string, number>();
    for (const j of this.state.jobs.values()) {
      for (const t of j.tasks) {
        if (t.state === TaskState.RUNNING && t.machine !== undefined) {
          snap.placeTask(taskFromProto(taskView(t, this.cell), j.current.spec, snap, tasks), machines.id(t.machine.name), reservationOf(t));
        } else if (t.state === TaskState.PENDING && t.notBeforeMs <= this.timeMs) {
          queue.add(taskFromProto(taskView(t, this.cell), j.current.spec, snap, tasks));
          specVersion.set(t.id, t.specVersion);
        }
      }
    }
    const scheduler = new Scheduler({ policy: 'hybrid', scoreCaching: true, equivalenceClasses: true, relaxedRandomization: true, feasibleLimit: 64, passIntervalMs: 500, seed: 1 }, this.rng, { nowMs: () => this.timeMs });
    const plan = scheduler.schedulePass(snap, queue);
    const passSeconds = Number(process.hrtime.bigint() - started) / 1e9;
    const assignments = plan.assignments.map((a) => {
      const w = assignmentToProto(a, tasks, machines);
      return { ...w, specVersion: specVersion.get(w.taskId) ?? 0 };
    });
    const res = await commitPlan(
      this.state,
      this.whyPending,
      { requestId: `plan-${++this.requestSeq}`, baseLogIndex: this.state.appliedIndex, assignments, pending: planVerdicts(plan).map((v) => verdictToProto(v, tasks)), passSeconds },
      async (body, requestId) => this.apply(body, requestId),
    );
    return { placed: res.acceptedTaskIds.length, pending: plan.stats.pending, passSeconds };
  }
}

export interface ServedCell {
  url: string;
  source: CellStateSource;
  metrics: BorgMetrics;
  server: StatusServer;
  close(): Promise<void>;
}

/**
 * serveStatus starts a status server over a DrivenCell as its single, leading replica (selfId 1), following the
 * cell's WatchHub; `follower` shows it as replica 2 trailing by that many entries instead.
 */
export async function serveStatus(c: DrivenCell, options: { follower?: number; coalesceMs?: number } = {}): Promise<ServedCell> {
  const metrics = new BorgMetrics({ labels: { cell: c.cell, replica: options.follower === undefined ? '1' : '2' } });
  const replica = (): ReplicaInfo => {
    const applied = c.state.appliedIndex;
    const lag = options.follower ?? 0;
    const rows = [
      { id: 1, address: '127.0.0.1:7001', leader: true, reachable: true, logIndex: applied + lag, appliedIndex: applied + lag, lag: 0, statusUrl: '' },
      { id: 2, address: '127.0.0.1:7002', leader: false, reachable: true, logIndex: applied + lag, appliedIndex: applied, lag, statusUrl: '' },
      { id: 3, address: '127.0.0.1:7003', leader: false, reachable: false, logIndex: 0, appliedIndex: 0, lag: applied + lag, statusUrl: '' },
    ];
    return options.follower === undefined
      ? { cell: c.cell, selfId: 1, leaderId: 1, authoritative: true, appliedIndex: applied, lagEntries: 0, replicas: rows }
      : { cell: c.cell, selfId: 2, leaderId: 1, authoritative: false, appliedIndex: applied, lagEntries: lag, replicas: rows };
  };
  const source = new CellStateSource({ state: () => c.state, replica, whyPending: (id) => c.whyPending.get(id), usage: c.usage, logs: c.logs, metrics });
  metrics.bindSummary(() => source.summary());
  const stop = followWatchHub(c.hub, source, () => c.state.appliedIndex);
  const server = new StatusServer({ source, metrics, live: { coalesceMs: options.coalesceMs ?? 50 } });
  const url = await server.start();
  return {
    url,
    source,
    metrics,
    server,
    async close() {
      stop();
      await server.close();
    },
  };
}
