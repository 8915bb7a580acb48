// `npm run bench -- master_state`: the Borgmaster state machine alone (no log, no network): memory per task
// in a cell of N tasks (heap retained by the whole state: jobs, tasks, machines, events, request cache), checkpoint
// save and restore time, and apply throughput for the commands that dominate a busy cell.
//
//   npm run bench -- master_state [--tasks 100000] [--tasks-per-job 1000] [--machines 1000] [--repeat 3] [--json]
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Benchmark } from '../main';
import { CellState, bodies, command, jobSpec, largeCell, machine, restore, snapshot } from '../../borgmaster/state/index';
import { EventType, PriorityBand } from '../../proto/index';
import { GiB, MiB } from '../../model/resources';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function heapUsed(): number {
  for (let i = 0; i < 3; i++) gc();
  return process.memoryUsage().heapUsed;
}

function best(repeat: number, f: () => void): number {
  let ms = Infinity;
  for (let i = 0; i < repeat; i++) {
    const t0 = performance.now();
    f();
    ms = Math.min(ms, performance.now() - t0);
  }
  return ms;
}

const bench: Benchmark = {
  summary: 'Borgmaster state machine: bytes per task, checkpoint save/restore, apply throughput',
  async run(args) {
    const { values } = parseArgs({
      args,
      options: {
        tasks: { type: 'string', default: '100000' },
        'tasks-per-job': { type: 'string', default: '1000' },
        machines: { type: 'string', default: '1000' },
        repeat: { type: 'string', default: '3' },
        json: { type: 'boolean', default: false },
      },
    });
    const perJob = Math.max(1, Number(values['tasks-per-job']));
    const jobs = Math.max(1, Math.round(Number(values.tasks) / perJob));
    const machines = Math.max(1, Number(values.machines));
    const repeat = Math.max(1, Number(values.repeat));

    const before = heapUsed();
    const t0 = performance.now();
    const state = largeCell(jobs, perJob, machines);
    const buildMs = performance.now() - t0;
    const after = heapUsed();
    const tasks = state.taskCount;
    const bytesPerTask = (after - before) / tasks;

    let bytes = snapshot(state);
    const saveMs = best(repeat, () => {
      bytes = snapshot(state);
    });
    let restored: CellState = state;
    const restoreMs = best(repeat, () => {
      restored = restore(bytes);
    });
    if (restored.taskCount !== tasks) throw new Error('restore lost tasks');

    // Apply throughput: CreateJob of 1000-task jobs, then their SCHEDULE transitions, then FAILs.
    const s = new CellState('bench');
    let index = 0;
    let t = 1_700_000_000_000;
    const apply = (body: Parameters<typeof command>[0], requestId = '') => s.apply(command(body, { timeMs: (t += 1), requestId, caller: 'u' }), ++index);
    for (let m = 0; m < 100; m++) apply(bodies.registerMachine(machine(`m${m}`, { cpuMillis: 64_000, ramBytes: 256 * GiB, ports: 1000 })));
    apply(bodies.setQuota('u', PriorityBand.PRODUCTION, { cpuMillis: 6_400_000, ramBytes: 25_600 * GiB, diskBytes: 0, ports: 100_000 }));
    const createJobs = 50;
    const tc0 = performance.now();
    for (let j = 0; j < createJobs; j++) apply(bodies.createJob(jobSpec({ cell: 'bench', user: 'u', name: `j${j}`, taskCount: 1000, task: { requirements: { cpuMillis: 100, ramBytes: 64 * MiB, diskBytes: 0, ports: 1 } } })), `c${j}`);
    const createMs = performance.now() - tc0;
    const ts0 = performance.now();
    for (let j = 0; j < createJobs; j++) {
      apply(bodies.transitions(Array.from({ length: 1000 }, (_, k) => ({ taskId: `bench/u/j${j}/${k}`, machine: `m${(j * 7 + k) % 100}` }))));
    }
    const scheduleMs = performance.now() - ts0;
    const tf0 = performance.now();
    const fails = 10_000;
    for (let k = 0; k < fails; k++) apply(bodies.transitions([{ taskId: `bench/u/j${k % createJobs}/${Math.floor(k / createJobs)}`, event: EventType.FAIL, exitCode: 1 }]));
    const failMs = performance.now() - tf0;

    const result = {
      tasks,
      machines,
      buildSeconds: buildMs / 1000,
      masterBytesPerTask: Math.round(bytesPerTask),
      checkpointBytes: bytes.length,
      checkpointSaveSeconds: saveMs / 1000,
      checkpointRestoreSeconds: restoreMs / 1000,
      createJobTasksPerSecond: Math.round((createJobs * 1000) / (createMs / 1000)),
      scheduleTransitionsPerSecond: Math.round((createJobs * 1000) / (scheduleMs / 1000)),
      singleFailCommandsPerSecond: Math.round(fails / (failMs / 1000)),
      loadAverage1m: Number((await import('node:os')).loadavg()[0]?.toFixed(2)),
    };
    if (values.json) {
      console.log(JSON.stringify(result));
      return;
    }
    const rows: [string, string][] = [
      ['tasks / machines', `${tasks} / ${machines}`],
      ['build (create + schedule + fail, via apply)', `${result.buildSeconds.toFixed(2)} s`],
      ['master bytes per task (whole state, goal < 2048)', `${result.masterBytesPerTask}`],
      ['checkpoint size', `${(bytes.length / 2 ** 20).toFixed(1)} MiB`],
      [`checkpoint save (best of ${repeat}, goal < 3 s)`, `${result.checkpointSaveSeconds.toFixed(2)} s`],
      [`checkpoint restore incl. invariant check (best of ${repeat}, goal < 3 s)`, `${result.checkpointRestoreSeconds.toFixed(2)} s`],
      ['CreateJob apply (1000-task jobs)', `${result.createJobTasksPerSecond} tasks/s`],
      ['SCHEDULE apply (batches of 1000)', `${result.scheduleTransitionsPerSecond} transitions/s`],
      ['FAIL apply (one per command)', `${result.singleFailCommandsPerSecond} commands/s`],
      ['1-minute load average while running', `${result.loadAverage1m}`],
    ];
    const w = Math.max(...rows.map(([k]) => k.length));
    for (const [k, v] of rows) console.log(`${k.padEnd(w)}  ${v}`);
  },
};

export default bench;
