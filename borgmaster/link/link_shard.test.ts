// The link shard against simulated Borglets over real gRPC on loopback, with a CellState that applies what the
// shard submits: a steady-state poll carries no specs, a spec change reaches the Borglet in the next poll, a
// Borglet restarted with no state gets the full specs at once (and nothing is declared LOST), differences of many
// machines become one commit, and a round's polls are spread over the interval instead of sent in a burst.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CellState } from '../state/cell_state';
import { bodies, command, jobSpec, machine } from '../state/builders';
import { SimBorglets } from '../../sim/borglets/sim_borglets';
import { serveSimBorglets } from '../../sim/borglets/server';
import { simulatedMachineConfigs } from '../../cells/simulated_machines';
import { systemClock } from '../../model/clock';
import { SeededRng } from '../../model/rng';
import { GiB, MiB } from '../../model/resources';
import { EventType, PriorityBand, TaskState, type Command, type PollRequest, type PollResponse, type BorgletLogsRequest, type BorgletLogsResponse } from '../../proto/index';
import { LinkShard } from './link_shard';
import { desiredVersion } from './desired';

const CELL = 'lt';

/** Harness: N simulated machines behind one gRPC server, a cell state that runs `tasks` tasks on them, a shard. */
async function harness(machines: number, pollIntervalMs: number) {
  const configs = simulatedMachineConfigs({ count: machines, address: '127.0.0.1:0', capacity: { cpuMillis: 8000, ramBytes: 32 * GiB, diskBytes: 0, ports: 0 }, machinesPerRack: 4, racksPerPowerDomain: 2, attributes: {} });
  const holder = { sim: new SimBorglets(CELL, configs, systemClock, new SeededRng(1)), pollTimesMs: [] as number[], requests: [] as PollRequest[], delayMs: 0, answers: [] as string[] };
  const { server, port } = await serveSimBorglets(
    {
      poll: async (r: PollRequest): Promise<PollResponse> => {
        holder.pollTimesMs.push(performance.now());
        holder.requests.push(r);
        if (holder.delayMs > 0) await new Promise((res) => setTimeout(res, holder.delayMs));
        return holder.sim.poll(r);
      },
      taskLogs: (r: BorgletLogsRequest): BorgletLogsResponse => holder.sim.taskLogs(r),
    },
    '127.0.0.1:0',
  );
  const state = new CellState(CELL);
  let index = 0;
  const apply = (c: Command) => {
    const out = state.apply({ ...c, timeMs: Date.now() }, ++index);
    assert.ok(out.result.ok, out.result.errorMessage);
    return out.result;
  };
  for (const m of configs) apply(command(bodies.registerMachine(machine(m.name, m.capacity, { address: `127.0.0.1:${port}` }))));
  apply(command(bodies.setQuota('alice', PriorityBand.PRODUCTION, { cpuMillis: 8000 * machines, ramBytes: 32 * GiB * machines, diskBytes: 0, ports: 0 })));
  const submitted: Command[][] = [];
  const shardOptions: ConstructorParameters<typeof LinkShard>[0] = {
    replicaId: 1,
    replicaIds: [1],
    liveReplicaIds: () => [1],
    state: () => state,
    config: { pollIntervalMs, missedPollsBeforeDown: 3, rescheduleTasksPerSecond: 1000 },
    clock: systemClock,
    master: () => ({ ballot: { round: 1, replica: 1 }, canPoll: true }),
    onSample: (m) => holder.answers.push(`decoded ${m}`),
    onUnchanged: (m) => holder.answers.push(`same ${m}`),
    submit: async (commands) => {
      submitted.push(commands);
      for (const c of commands) apply(c);
    },
  };
  const shard = new LinkShard(shardOptions);
  const stop = async () => {
    shard.stop();
    await new Promise<void>((r) => server.tryShutdown(() => r()));
  };
  return { holder, state, apply, shard, shardOptions, submitted, stop, configs };
}

/** runJob creates a job of n tasks and places task i on machine i % machines. */
function runJob(h: Awaited<ReturnType<typeof harness>>, name: string, n: number, env: Record<string, string> = {}) {
  h.apply(command(bodies.createJob(jobSpec({ cell: CELL, name, taskCount: n, task: { env, requirements: { cpuMillis: 100, ramBytes: 64 * MiB, diskBytes: 0, ports: 0 } } }))));
  h.apply(command(bodies.transitions(Array.from({ length: n }, (_, i) => ({ taskId: `${CELL}/alice/${name}/${i}`, machine: h.configs[i % h.configs.length]?.name ?? '', specVersion: 1 })))));
}

test('link shard: steady-state polls carry no specs; a change reaches the Borglet in the next poll; a restarted Borglet gets everything at once', { timeout: 30_000 }, async (t) => {
  const h = await harness(2, 50);
  t.after(h.stop);
  runJob(h, 'web', 4);

  await h.shard.round();
  assert.equal(h.holder.sim.runningTasks(), 4, 'the first poll carries the full desired state');
  assert.deepEqual([h.shard.stats.fullPolls, h.shard.stats.specsSent], [2, 4]);

  const before = { ...h.holder.sim.counters };
  h.holder.requests.length = 0;
  await h.shard.round();
  await h.shard.round();
  assert.deepEqual([h.shard.stats.fullPolls, h.shard.stats.unchangedPolls, h.shard.stats.specsSent], [2, 6, 4], 'two quiet rounds: four more unchanged polls (the first round tried one each too)');
  assert.ok(h.holder.requests.every((r) => r.tasks.length === 0 && !r.authoritative && (r.desiredVersion ?? 0) > 0), 'an unchanged poll lists no task and says which version is meant');
  assert.equal(h.holder.sim.counters.specsReceived, before.specsReceived, 'no spec crossed the wire');
  assert.equal(h.holder.sim.counters.starts, before.starts);
  assert.equal(h.shard.stats.sameReplies, 2, 'the second quiet round repeats the first one\'s reports byte for byte: not decoded again');
  assert.equal(h.holder.answers.filter((a) => a.startsWith('same')).length, 2, 'each is heard as an answer whose sample still holds');
  assert.equal(h.holder.answers.filter((a) => a.startsWith('decoded')).length, 8 - 2, 'every other answer of the 8 polls was decoded');

  // Another replica taking these machines over (a new election reshuffles the shards) knows no echo yet: its first
  // polls are "unchanged" ones, which the Borglets already running this state confirm. No spec is sent again.
  const other = new LinkShard({ ...h.shardOptions, replicaId: 1 });
  await other.round();
  other.stop();
  assert.deepEqual([other.stats.fullPolls, other.stats.unchangedPolls, other.stats.specsSent], [0, 2, 0], 'a new owner sends no spec to Borglets that run its state');
  assert.equal(h.holder.sim.counters.specsReceived, before.specsReceived);

  // A priority change updates running tasks in place (no restart) and changes what the Borglets must know.
  const m0 = h.state.machines.get(h.configs[0]?.name ?? '');
  assert.ok(m0);
  const v0 = desiredVersion(m0);
  h.apply(command(bodies.updateJob(jobSpec({ cell: CELL, name: 'web', taskCount: 4, priority: 250, task: { requirements: { cpuMillis: 100, ramBytes: 64 * MiB, diskBytes: 0, ports: 0 } } }))));
  assert.notEqual(desiredVersion(m0), v0, 'the desired version names the priority too');
  h.holder.requests.length = 0;
  await h.shard.round();
  assert.deepEqual([h.shard.stats.fullPolls, h.shard.stats.specsSent], [4, 8], 'the next poll of each machine carries its full state');
  assert.ok(h.holder.requests.every((r) => r.authoritative && r.tasks.every((d) => d.priority === 250 && d.spec !== undefined)));
  const seen = h.holder.sim.poll({ cell: CELL, machine: m0.name, ballot: { round: 1, replica: 1 }, replica: 1, pollSeq: 0, authoritative: false, tasks: [] });
  assert.ok(seen.tasks.length === 2 && seen.tasks.every((s) => s.priority === 250 && s.specVersion === 2), 'the Borglet runs version 2 at the new priority');

  // The Borglets' process restarts and remembers nothing: the "unchanged" poll is answered with version 0, and the
  // shard re-polls that machine with its full state at once. No task is declared LOST meanwhile.
  h.holder.sim = new SimBorglets(CELL, h.configs, systemClock, new SeededRng(2));
  const committed = h.submitted.length;
  await h.shard.round();
  assert.equal(h.holder.sim.runningTasks(), 4, 'every task restarted on the fresh Borglets within one round');
  assert.equal(h.holder.sim.counters.specsReceived, 4);
  assert.equal(h.submitted.length, committed, 'nothing to commit: no task was lost');
  for (const task of h.state.jobs.get(`${CELL}/alice/web`)?.tasks ?? []) assert.equal(task.state, TaskState.RUNNING);
  await h.shard.round();
  assert.equal(h.holder.sim.counters.specsReceived, 4, 'and then quiet again');
});

test('link shard: differences from many machines are one commit; polls are spread over the interval', { timeout: 30_000 }, async (t) => {
  const h = await harness(20, 1000);
  t.after(h.stop);
  // Tasks that finish at once (simulated duration 0): every machine reports a FINISH on the second round.
  runJob(h, 'batch', 20, { SIM_DURATION_MS: '0' });
  await h.shard.round();
  assert.equal(h.holder.sim.counters.starts, 20);
  // The round's own launches (each machine's first, optimistic poll; the re-polls with the full state follow each).
  const first = h.holder.pollTimesMs.filter((_, i) => h.holder.requests[i]?.authoritative === false);
  assert.equal(first.length, 20);
  const spreadMs = Math.max(...first) - Math.min(...first);
  assert.ok(spreadMs >= 600, `20 polls launched over ${spreadMs.toFixed(0)} ms of a 1000 ms interval, not in a burst`);
  const commits = h.shard.stats.commits;
  await h.shard.round();
  const finishes = h.submitted.slice(commits).flat();
  const finished = finishes.flatMap((c) => (c.body?.$case === 'transitions' ? c.body.value.transitions : [])).filter((x) => x.event === EventType.FINISH);
  assert.equal(finished.length, 20, 'every FINISH reported');
  assert.ok(h.shard.stats.commits - commits <= 12, `20 machines' differences in ${h.shard.stats.commits - commits} commits (one per ${100} ms flush at most)`);
  assert.equal(h.state.jobs.get(`${CELL}/alice/batch`)?.dead, 20);
});

test('link shard: started, it polls every machine about once per interval and never skips a round', { timeout: 30_000 }, async (t) => {
  const h = await harness(40, 100);
  t.after(h.stop);
  runJob(h, 'web', 40);
  h.shard.start();
  await new Promise((r) => setTimeout(r, 1500));
  h.shard.stop();
  const perMachine = new Map<string, number>();
  for (const r of h.holder.requests) if (!r.authoritative) perMachine.set(r.machine, (perMachine.get(r.machine) ?? 0) + 1);
  assert.equal(perMachine.size, 40, 'every machine polled');
  const { rounds, unchangedPolls, skippedInFlight } = h.shard.stats;
  // 1.5 s at one poll every 100 ms is up to 15 rounds (fewer on a loaded host: a round that overruns delays the
  // next one rather than being skipped). Each round visits every machine: it polls it, or passes over it because
  // its last reply is still out (all but the last round, which stop() may cut short).
  assert.ok(rounds >= 5, `${rounds} rounds in 1.5 s at a 100 ms interval`);
  assert.ok(unchangedPolls + skippedInFlight >= 40 * (rounds - 1), `${rounds} rounds visited machines ${unchangedPolls} + ${skippedInFlight} times`);
});

test('link shard: polls that time out narrow the window of polls out to that address; answers widen it again', { timeout: 30_000 }, async (t) => {
  const h = await harness(4, 100);
  t.after(h.stop);
  const address = h.state.machines.get(h.configs[0]?.name ?? '')?.address ?? '';
  const w0 = h.shard.windowOf(address);
  h.holder.delayMs = 1300; // past the deadline (max(1 s, 2 intervals))
  await h.shard.round();
  const narrowed = h.shard.windowOf(address);
  assert.ok(narrowed <= w0 / 4, `four timeouts narrow the window: ${w0} -> ${narrowed}`);
  assert.ok(narrowed >= 8, 'never below the minimum');
  h.holder.delayMs = 0;
  for (let i = 0; i < 3; i++) await h.shard.round();
  assert.ok(h.shard.windowOf(address) > narrowed, `answers widen it again (${narrowed} -> ${h.shard.windowOf(address)})`);
});
