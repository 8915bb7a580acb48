// The cell model shared by every component: resources, priorities, ids, task lifecycle, clock, rng, errors.
export * from './assert';
export * from './errors';
export * from './resources';
export * from './priority';
export * from './ids';
export * from './task_state';
export * from './clock';
export * from './rng';
export * from './units';
