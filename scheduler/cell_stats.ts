// Cell-level accounting for reports (benchmarks, the status page): resources allocated per priority band and
// stranded resources. Not on any hot path.
import { bandName, bandOf, BANDS } from '../model/priority';
import { DIMS, DIM_CPU, DIM_RAM, type CellSnapshot } from './snapshot';

export interface BandAllocation {
  band: string;
  tasks: number;
  cpuMillis: number;
  ramBytes: number;
}

export interface CellStats {
  machines: number;
  capacityCpuMillis: number;
  capacityRamBytes: number;
  reservedCpuMillis: number;
  reservedRamBytes: number;
  /**
   * Stranded cpu: free cpu on machines whose free ram is below `minRamBytes` (no typical task can use that cpu);
   * stranded ram likewise. As fractions of the cell's capacity.
   */
  strandedCpuFraction: number;
  strandedRamFraction: number;
  bands: BandAllocation[];
}

/**
 * cellStats summarises the snapshot. A resource is stranded on a machine when the other dimension's free amount
 * is below what a typical task needs (`typicalCpuMillis`, `typicalRamBytes`: the caller's choice, e.g. the
 * workload's median request), so it cannot be used even though it is free.
 */
export function cellStats(snap: CellSnapshot, typicalCpuMillis: number, typicalRamBytes: number): CellStats {
  let capCpu = 0;
  let capRam = 0;
  let resCpu = 0;
  let resRam = 0;
  let strCpu = 0;
  let strRam = 0;
  for (let m = 0; m < snap.slotCount; m++) {
    if (snap.state[m] === 0) continue;
    const b = m * DIMS;
    const cc = snap.cap[b + DIM_CPU] as number;
    const cr = snap.cap[b + DIM_RAM] as number;
    const uc = snap.resAll[b + DIM_CPU] as number;
    const ur = snap.resAll[b + DIM_RAM] as number;
    capCpu += cc;
    capRam += cr;
    resCpu += uc;
    resRam += ur;
    const freeCpu = Math.max(0, cc - uc);
    const freeRam = Math.max(0, cr - ur);
    if (freeRam < typicalRamBytes) strCpu += freeCpu;
    if (freeCpu < typicalCpuMillis) strRam += freeRam;
  }
  const byBand = new Map<number, BandAllocation>(BANDS.map((b) => [b, { band: bandName(b), tasks: 0, cpuMillis: 0, ramBytes: 0 }]));
  snap.forEachPlaced((t) => {
    const a = byBand.get(bandOf(t.priority));
    if (a === undefined) return;
    a.tasks++;
    a.cpuMillis += t.limit.cpuMillis;
    a.ramBytes += t.limit.ramBytes;
  });
  return {
    machines: snap.liveMachines,
    capacityCpuMillis: capCpu,
    capacityRamBytes: capRam,
    reservedCpuMillis: resCpu,
    reservedRamBytes: resRam,
    strandedCpuFraction: capCpu > 0 ? strCpu / capCpu : 0,
    strandedRamFraction: capRam > 0 ? strRam / capRam : 0,
    bands: [...byBand.values()],
  };
}
