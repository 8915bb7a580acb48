// The desired state of one machine, as the master sends it when it changed: every task the cell state has
// RUNNING there, with its complete spec. The Borglet makes the machine match it exactly, so a task that is not
// listed (moved away while the machine was unreachable, or killed) is killed there: that is how duplicates die.
// desiredVersion names that content in one number, so a poll can say "unchanged" without listing anything.
import { bnsName } from '../../model/ids';
import { priorityOf, type MachineRec } from '../state/records';
import type { DesiredTask } from '../../proto/index';

export function desiredTasks(machine: MachineRec, cell: string): DesiredTask[] {
  const out: DesiredTask[] = [];
  for (const t of machine.tasks) {
    out.push({
      taskId: t.id,
      specVersion: t.specVersion,
      spec: t.spec,
      priority: priorityOf(t),
      bnsName: bnsName({ cell, user: t.job.user, job: t.job.name, index: t.index }),
      ports: [...t.ports],
    });
  }
  return out;
}

/** fnv1a32 of s, continuing from h (so several fields hash as one string without building it). */
function fnv1a32(s: string, h: number): number {
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** mix32 is murmur3's finaliser: spreads the bits of one 32-bit value. */
function mix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * desiredVersion is a 53-bit hash of everything desiredTasks() would send for the machine: each task's id, spec
 * version, priority and ports, and its job's creation time (a job killed and created again under the same name
 * restarts at spec version 1 with perhaps another spec). Tasks are combined by addition, so the order the
 * machine's set happens to hold them in (placement order, or checkpoint order after a restore) does not matter,
 * and every replica computes the same version for the same state: a new master's polls stay "unchanged" for
 * Borglets that already run what it wants. Never 0 (0 means "no version" on the wire).
 */
export function desiredVersion(machine: MachineRec): number {
  let a = Math.imul(machine.tasks.size, 0x9e3779b1) >>> 0;
  let b = 0x2545f491;
  for (const t of machine.tasks) {
    let h = fnv1a32(t.id, 0x811c9dc5);
    h = fnv1a32(`\0${t.specVersion}\0${priorityOf(t)}\0${t.job.createdMs}\0${t.ports.join(',')}`, h);
    a = (a + mix32(h)) >>> 0;
    b = (b + mix32(h ^ 0x5bd1e995)) >>> 0;
  }
  const v = a * 0x200000 + (b & 0x1fffff);
  return v === 0 ? 1 : v;
}

const versionCache = new WeakMap<MachineRec, { generation: number; epoch: number; version: number }>();

/**
 * desiredVersionCached is desiredVersion remembered per machine record until the machine's generation (every
 * placement, removal and charge) or the state's desiredEpoch (in-place updates of running tasks) moves: the same
 * inputs, so the same answer, without hashing every task on every poll.
 */
export function desiredVersionCached(machine: MachineRec, epoch: number): number {
  const hit = versionCache.get(machine);
  if (hit !== undefined && hit.generation === machine.generation && hit.epoch === epoch) return hit.version;
  const version = desiredVersion(machine);
  versionCache.set(machine, { generation: machine.generation, epoch, version });
  return version;
}
