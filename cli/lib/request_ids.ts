// Request ids for the CLI's writes. The master applies a (caller, request id) once, so an id derived from what
// the command does — not from time or chance — makes running the same command again after a lost answer
// harmless: `borg submit web.bcl` twice creates the job once. Ids stay within the master's 128-byte, printable
// ASCII bound by hashing the variable parts.
import { createHash } from 'node:crypto';
import { JobSpec } from '../../proto/index';

function digest(...parts: (string | Uint8Array)[]): string {
  const h = createHash('sha256');
  for (const p of parts) {
    h.update(typeof p === 'string' ? Buffer.from(p, 'utf8') : p);
    h.update('\0');
  }
  return h.digest('hex').slice(0, 32);
}

/**
 * submitRequestId names the creation of exactly this spec. `generation` counts resubmissions: when the id was
 * used before and the job it made is gone (killed since), the next generation creates it again.
 */
export function submitRequestId(spec: JobSpec, generation: number): string {
  return `submit-${digest(spec.user, spec.name, JobSpec.encode(spec).finish())}-${generation}`;
}

/** updateRequestId names the update of one job from spec version `fromVersion` to exactly `spec`. */
export function updateRequestId(spec: JobSpec, fromVersion: number): string {
  return `update-${digest(spec.user, spec.name, JobSpec.encode(spec).finish())}-v${fromVersion}`;
}

/** killRequestId names the kill of one incarnation of a job (its creation time tells incarnations apart). */
export function killRequestId(user: string, job: string, createdMs: number): string {
  return `kill-${digest(user, job)}-${createdMs}`;
}

/** machineRequestId names a drain or undrain of a machine at the generation the command saw. */
export function machineRequestId(op: 'drain' | 'undrain', machine: string, generation: number): string {
  return `${op}-${digest(machine)}-g${generation}`;
}

/** quotaRequestId names setting one quota to one limit. */
export function quotaRequestId(user: string, band: number, limit: { cpuMillis: number; ramBytes: number; diskBytes: number; ports: number }, at: number): string {
  return `quota-${digest(user, String(band), `${limit.cpuMillis}/${limit.ramBytes}/${limit.diskBytes}/${limit.ports}`)}-i${at}`;
}
