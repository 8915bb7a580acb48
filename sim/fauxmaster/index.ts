// The Fauxmaster (B15 §3.1): the real Borgmaster state machine and scheduler on simulated Borglets, one process,
// virtual time, deterministic from a seed. Library surface below; `npm run sim -- fauxmaster` is the CLI (cli.ts).
import type { Simulation } from '../main';
import { runFauxmaster, USAGE } from './cli';

export { Fauxmaster, FAUX_CALLER, HOLD_AFTER_REJECT_MS, MAX_PASSES_PER_SCHEDULE, endTransition, mainReason, schedulerConfig, type CellCounts, type FauxmasterOptions, type ScheduleReport } from './fauxmaster';
export { whatIf, type Change, type TaskFate, type WhatIfResult } from './what_if';
export { CellReplay, DEFAULT_RECLAIM, grantQuota, jsonlDepartures, loadWorkload, traceDepartures, workloadEvents, type ReclaimModel, type ReplayEvent, type StepReport, type StepSample } from './replay';
export { cellName, jobsFor, machineBodies, quotaBodies, workloadKey, type CellJobs, type TaskRef } from './workload_cell';
export { parseDuration, parseOptions, runFauxmaster, USAGE, type CliOptions, type Op } from './cli';

const simulation: Simulation = {
  summary: 'Fauxmaster: the real master state machine and scheduler on a trace or checkpoint: schedule, what-if, step',
  async run(args) {
    if (args.length === 0 || args.includes('--help')) {
      console.log(USAGE);
      return args.length === 0 ? 2 : 0;
    }
    return runFauxmaster(args);
  },
};
export default simulation;
