// Picks the cgroup driver for this host from /proc/self/mountinfo: v1 when the memory controller is mounted as
// its own (v1) hierarchy, else v2 when a unified hierarchy offers memory and cpu. Hybrid hosts (v1 controllers
// plus an empty cgroup2 mount, like this one) use v1. parseMountinfo is pure so the choice is tested in tables.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BorgError } from '../../model/errors';
import type { CgroupDriver } from './driver';
import { CgroupV1Driver, V1_CONTROLLERS, type V1Controller } from './v1';
import { CgroupV2Driver } from './v2';
import { readOptional } from './fsutil';

export interface CgroupMounts {
  /** v1: controller -> mount point, for every v1 controller mounted. */
  v1: Partial<Record<string, string>>;
  /** v2: mount points of cgroup2 filesystems. */
  v2: string[];
}

/** unescapeMount decodes mountinfo's octal escapes (\040 for a space). */
function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** parseMountinfo extracts cgroup mounts from /proc/self/mountinfo text. */
export function parseMountinfo(text: string): CgroupMounts {
  const out: CgroupMounts = { v1: {}, v2: [] };
  for (const line of text.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const left = line.slice(0, sep).split(' ');
    const right = line.slice(sep + 3).split(' ');
    const mountPoint = left[4];
    const fstype = right[0];
    const superOptions = right[2] ?? '';
    if (mountPoint === undefined) continue;
    if (fstype === 'cgroup2') out.v2.push(unescapeMount(mountPoint));
    if (fstype === 'cgroup') {
      for (const opt of superOptions.split(',')) {
        if (out.v1[opt] === undefined) out.v1[opt] = unescapeMount(mountPoint);
      }
    }
  }
  return out;
}

export type DriverChoice =
  | { kind: 'v1'; mounts: Record<V1Controller, string> }
  | { kind: 'v2'; root: string }
  | { kind: 'none'; reason: string };

/** chooseDriver decides from the mounts and, for v2, the controllers each cgroup2 root offers. */
export function chooseDriver(m: CgroupMounts, controllersOf: (root: string) => string[]): DriverChoice {
  if (m.v1.memory !== undefined) {
    const missing = V1_CONTROLLERS.filter((c) => m.v1[c] === undefined);
    if (missing.length > 0) return { kind: 'none', reason: `cgroup v1 is missing the ${missing.join(', ')} controller(s)` };
    const mounts = {} as Record<V1Controller, string>;
    for (const c of V1_CONTROLLERS) mounts[c] = m.v1[c] as string;
    return { kind: 'v1', mounts };
  }
  for (const root of m.v2) {
    const offered = controllersOf(root);
    if (offered.includes('memory') && offered.includes('cpu')) return { kind: 'v2', root };
  }
  if (m.v2.length > 0) return { kind: 'none', reason: `cgroup v2 at ${m.v2.join(', ')} offers no memory and cpu controllers` };
  return { kind: 'none', reason: 'no cgroup filesystem is mounted' };
}

export type DriverPreference = 'auto' | 'v1' | 'v2';

/** detectCgroupDriver builds the driver for this host and machine, or explains why it cannot. */
export function detectCgroupDriver(machine: string, prefer: DriverPreference = 'auto'): CgroupDriver {
  const mounts = parseMountinfo(readFileSync('/proc/self/mountinfo', 'utf8'));
  const controllersOf = (root: string): string[] => (readOptional(join(root, 'cgroup.controllers')) ?? '').trim().split(/\s+/);
  if (prefer === 'v1') mounts.v2 = [];
  if (prefer === 'v2') mounts.v1 = {};
  const choice = chooseDriver(mounts, controllersOf);
  switch (choice.kind) {
    case 'v1':
      return new CgroupV1Driver(choice.mounts, machine);
    case 'v2':
      return new CgroupV2Driver(choice.root, machine);
    case 'none':
      throw new BorgError('failed_precondition', `no usable cgroup hierarchy: ${choice.reason}`);
  }
}
