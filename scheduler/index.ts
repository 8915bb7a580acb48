// The scheduler library (B15 §3.2, §3.4; DESIGN.md §6): a pure core the scheduler process calls. No IO; time
// and randomness are injected. Usage:
//
//   const snap = new CellSnapshot();                       // the cached cell, kept current incrementally
//   snap.addMachine(m); snap.updateMachine(m); snap.removeMachine(id); snap.setMachineState(id, MACHINE_DRAINING);
//   snap.placeTask(task, machineId, reservation?); snap.removeTask(taskId); snap.updateReservation(taskId, r);
//   snap.avoidPairing(taskId, machineId, untilMs);
//   const queue = new PendingQueue();  queue.add(task);     // priority high->low, round-robin across users
//   const sched = new Scheduler(cellConfig.scheduler, rng, clock);
//   const plan = sched.schedulePass(snap, queue);          // { assignments, verdicts, stats }
//
// Tasks and machines are compact (numbers; strings interned in the snapshot); convert.ts maps the proto types.
// schedulePass applies its own plan to the snapshot; undo a rejected assignment with snap.removeTask + queue.add.
export { CellSnapshot, DIMS, DIM_CPU, DIM_RAM, DIM_DISK, DIM_PORTS, RESERVATION_QUANTUM_FRACTION } from './snapshot';
export { Scheduler, DONOR_POOL, RECENT_VIEWS, INHERIT_MIN_REMAINING, SAMPLE_REFRESH_PLACEMENTS, HOT_MACHINES, SAMPLE_ORDER, BEST_SCAN_MAX, BEST_SCAN_PER_TASK, SAMPLE_PER_TASK, SAMPLE_MIN, INDEX_SAMPLE_FRACTION, RECHECK_DONOR_MIN_LAG, indexedViewMax, type PassOptions, type SchedulerTuning, type SampleOrder } from './scheduler';
export { RoomIndex, roomKindOf, bucketOf, cpuBucket, ramBucket, ROOM_FREE, ROOM_ABOVE_LOWEST, ROOM_FREE_BAND, ROOM_NON_PROD, ROOM_PROD, ROOM_KINDS, ROOM_CPU_BUCKETS, ROOM_RAM_BUCKETS, type RoomKind, type RoomShortCounts } from './room_index';
export { PendingQueue, QueueEntry } from './pending_queue';
export { warmUp, WARM_UP_ROUNDS, type WarmUpReport } from './warm_up';
export { idleGc, IDLE_MAJOR_GROWTH_BYTES, type IdleGcKind } from './idle_gc';
export { TaskClass, classKey, validateTask } from './task_class';
export { Interner } from './interner';
export { VictimFinder, REASON_TOO_MANY_VICTIMS, CODE_TOO_MANY_VICTIMS } from './preemption';
export { fitsFree, availableWithPreemption } from './charged';
export { verdictLine, reasonText, REASON_SLOTS } from './reasons';
export * from './types';
export * from './filters/machine_state';
export * from './filters/resources';
export * from './filters/ports';
export * from './filters/constraints';
export * from './filters/spread';
export * from './filters/avoid';
export { worstFit } from './scorers/worst';
export { bestFit } from './scorers/best';
export { hybridFit, HYBRID_BALANCE_WEIGHT } from './scorers/hybrid';
export { domainSpreading } from './scorers/spreading';
export { prodMixing } from './scorers/mixing';
export { preemptionCost, PREEMPTION_BASE_COST, PREEMPTION_COST_PER_VICTIM } from './scorers/preemption_cost';
export { scoreMachine, fitScore, policyCode, POLICY_BEST, POLICY_HYBRID, POLICY_WORST, SPREADING_WEIGHT, MIXING_WEIGHT } from './scorers/compose';
export * from './convert';
export { cellStats, type CellStats, type BandAllocation } from './cell_stats';
