// The simulation toolkit: a seeded event queue (virtual time), a faulty network and a disk that loses unsynced
// writes on crash. sim/paxos (and later whole-cell simulations) build on these.
export { EventQueue } from './scheduler';
export { SimNetwork, NO_FAULTS, type NetworkFaults, type NetworkStats } from './network';
export { SimDisk } from './disk';
