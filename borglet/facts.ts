// Machine facts from systeminformation (cores, memory, disk, OS), with every capacity dimension and attribute
// overridable, so one host can act as several small machines in a local cell.
import si from 'systeminformation';
import { hostname } from 'node:os';
import type { Resources } from '../model/resources';

export interface HostFacts {
  hostname: string;
  os: string;
  cores: number;
  ramBytes: number;
  diskBytes: number;
}

/** readHostFacts asks systeminformation once at start (it shells out for some facts, so never on a hot path). */
export async function readHostFacts(stateDir: string): Promise<HostFacts> {
  const [cpu, mem, os, fs] = await Promise.all([si.cpu(), si.mem(), si.osInfo(), si.fsSize()]);
  // The disk is the filesystem holding the state directory (task sandboxes and logs live there).
  const disk = fs.filter((f) => stateDir.startsWith(f.mount)).sort((a, b) => b.mount.length - a.mount.length)[0] ?? fs[0];
  return {
    hostname: os.hostname || hostname(),
    os: `${os.distro} ${os.release} (${os.kernel})`.trim(),
    cores: cpu.cores,
    ramBytes: mem.total,
    diskBytes: disk?.size ?? 0,
  };
}

/** capacityOf takes the host's facts with any overridden dimension. */
export function capacityOf(host: HostFacts, override: Partial<Resources>, defaultPorts: number): Resources {
  return {
    cpuMillis: override.cpuMillis ?? host.cores * 1000,
    ramBytes: override.ramBytes ?? host.ramBytes,
    diskBytes: override.diskBytes ?? host.diskBytes,
    ports: override.ports ?? defaultPorts,
  };
}
