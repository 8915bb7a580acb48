// A seeded run of SimBorglets on a virtual clock against random masters: polls with random ballots and random
// desired states, checking after each poll what the protocol promises (an older ballot is refused and changes
// nothing; an accepted authoritative poll leaves exactly the desired tasks, each started once per spec version).
// `npm run sim -- borglets --seed S [--seeds N]` replays a seed.
import { VirtualClock } from '../../model/clock';
import { SeededRng, type Rng } from '../../model/rng';
import { compareBallots } from '../../borglet/ballot';
import { simulatedMachineConfigs } from '../../cells/simulated_machines';
import { GiB } from '../../model/resources';
import type { Ballot, DesiredTask } from '../../proto/index';
import { SimBorglets } from './sim_borglets';

export function desired(id: string, specVersion: number, env: Record<string, string> = {}): DesiredTask {
  return {
    taskId: id,
    specVersion,
    priority: 100,
    bnsName: '',
    ports: [],
    spec: { command: '/bin/true', args: [], env, workingDir: '', requirements: { cpuMillis: 100, ramBytes: 64 * 1024 * 1024, diskBytes: 0, ports: 0 }, constraints: [], healthCheck: undefined, restartPolicy: undefined, latencySensitive: false, killGraceMs: 0 },
  };
}

/** checkSeed runs `polls` random polls and returns the first broken promise, or undefined. */
export function checkSeed(seed: number, polls = 2000): string | undefined {
  const rng: Rng = new SeededRng(seed);
  const clock = new VirtualClock(0);
  const machines = simulatedMachineConfigs({ count: 8, address: '127.0.0.1:1', capacity: { cpuMillis: 4000, ramBytes: 8 * GiB, diskBytes: 0, ports: 0 }, machinesPerRack: 4, racksPerPowerDomain: 2, attributes: {} });
  const sim = new SimBorglets('c', machines, clock, rng.fork('sim'));
  const highest = new Map<string, Ballot>();
  for (let i = 0; i < polls; i++) {
    clock.advance(1 + rng.int(500));
    const m = machines[rng.int(machines.length)]?.name ?? '';
    const ballot: Ballot = { round: rng.int(6), replica: 1 + rng.int(3) };
    const tasks = Array.from({ length: rng.int(5) }, (_, k) => desired(`c/u/j${rng.int(4)}/${k}`, 1 + rng.int(2), rng.int(3) === 0 ? { SIM_DURATION_MS: String(rng.int(2000)) } : {}));
    const unique = [...new Map(tasks.map((t) => [t.taskId, t])).values()];
    const before = JSON.stringify(sim.tasksOn(m));
    const startsBefore = sim.counters.starts;
    const r = sim.poll({ cell: 'c', machine: m, ballot, replica: ballot.replica, pollSeq: i, authoritative: true, tasks: unique });
    const seen = highest.get(m) ?? { round: 0, replica: 0 };
    if (compareBallots(ballot, seen) < 0) {
      if (!r.refused) return `seed ${seed} poll ${i}: ${m} obeyed ballot ${ballot.round}.${ballot.replica} below ${seen.round}.${seen.replica}`;
      if (JSON.stringify(sim.tasksOn(m)) !== before || sim.counters.starts !== startsBefore) return `seed ${seed} poll ${i}: a refused poll changed ${m}`;
      continue;
    }
    highest.set(m, ballot);
    if (r.refused) return `seed ${seed} poll ${i}: ${m} refused ballot ${ballot.round}.${ballot.replica}, not below ${seen.round}.${seen.replica}`;
    const reported = r.tasks.map((t) => t.taskId).sort();
    const want = unique.map((t) => t.taskId).sort();
    if (JSON.stringify(reported) !== JSON.stringify(want)) return `seed ${seed} poll ${i}: ${m} reports ${reported.join(',')} for desired ${want.join(',')}`;
    for (const t of r.tasks) {
      const d = unique.find((x) => x.taskId === t.taskId);
      if (d?.specVersion !== t.specVersion) return `seed ${seed} poll ${i}: ${t.taskId} runs spec ${t.specVersion}, desired ${d?.specVersion}`;
    }
  }
  return undefined;
}
