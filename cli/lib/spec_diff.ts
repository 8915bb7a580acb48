// A field-by-field diff of two JobSpecs for `borg update`: the master's dry run says what the update does (how
// many tasks restart); this says exactly which fields of the desired state change, as the user wrote them.
// Pure: two specs in, lines out.
import { JobSpec } from '../../proto/index';

type Flat = Map<string, string>;

/** flatten maps each leaf of a JSON value to its dotted path; lists are leaves (compared and shown whole). */
function flatten(v: unknown, path: string, out: Flat): Flat {
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
    const entries = Object.entries(v as Record<string, unknown>);
    if (entries.length === 0 && path !== '') out.set(path, '{}');
    for (const [k, x] of entries) flatten(x, path === '' ? k : `${path}.${/^[A-Za-z_][A-Za-z0-9_]*$/.test(k) ? k : JSON.stringify(k)}`, out);
  } else if (v !== undefined) {
    out.set(path, JSON.stringify(v));
  }
  return out;
}

/**
 * specDiff lists the changed fields, sorted by path: `~ path: old -> new`, `+ path: new`, `- path: old`.
 * Fields at their proto default are left out of both sides, so "unset" and "default" never show as a change.
 */
export function specDiff(before: JobSpec, after: JobSpec): string[] {
  const a = flatten(JobSpec.toJSON(before), '', new Map());
  const b = flatten(JobSpec.toJSON(after), '', new Map());
  const paths = [...new Set([...a.keys(), ...b.keys()])].sort();
  const lines: string[] = [];
  for (const p of paths) {
    const x = a.get(p);
    const y = b.get(p);
    if (x === y) continue;
    if (x === undefined) lines.push(`+ ${p}: ${y}`);
    else if (y === undefined) lines.push(`- ${p}: ${x}`);
    else lines.push(`~ ${p}: ${x} -> ${y}`);
  }
  return lines;
}
