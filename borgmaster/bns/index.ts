// BNS: task endpoints published to Redis by the elected master, and the resolver tasks and the CLI use.
export * from './records';
export * from './reconcile';
export * from './publisher';
export * from './resolver';
