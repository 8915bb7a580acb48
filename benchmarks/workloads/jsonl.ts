// Reader for the plain JSONL workload format (README.md): one JSON object per line, `"kind": "machine"` or
// `"kind": "task"`, so any workload can be fed to the scheduler benchmark. Streamed; bad lines are counted by
// reason and skipped, and the first few are kept with their line numbers for the report.
import { basename } from 'node:path';
import type { Resources } from '../../model/resources';
import { readLines } from './lines';
import { countSkip, WORKLOAD_CONSTRAINT_OPS, type Workload, type WorkloadConstraint, type WorkloadConstraintOp, type WorkloadMachine, type WorkloadTask } from './types';

/** MAX_JSONL_LINE_BYTES bounds one line, so a corrupt file cannot make the reader buffer without end. */
export const MAX_JSONL_LINE_BYTES = 1 << 20;

class BadLine extends Error {}

type Obj = Record<string, unknown>;

function obj(v: unknown, field: string): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new BadLine(`${field} must be an object`);
  return v as Obj;
}
function str(v: unknown, field: string, dflt?: string): string {
  if (v === undefined && dflt !== undefined) return dflt;
  if (typeof v !== 'string' || v === '') throw new BadLine(`${field} must be a non-empty string`);
  return v;
}
function int(v: unknown, field: string, dflt?: number): number {
  if (v === undefined && dflt !== undefined) return dflt;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new BadLine(`${field} must be a non-negative integer`);
  return v;
}
function resources(o: Obj, field: string): Resources {
  return { cpuMillis: int(o.cpuMillis, `${field}.cpuMillis`, 0), ramBytes: int(o.ramBytes, `${field}.ramBytes`, 0), diskBytes: int(o.diskBytes, `${field}.diskBytes`, 0), ports: int(o.ports, `${field}.ports`, 0) };
}

export function parseMachineLine(o: Obj): WorkloadMachine {
  const attrs = o.attributes === undefined ? {} : obj(o.attributes, 'attributes');
  const attributes: Record<string, string> = {};
  for (const [k, v] of Object.entries(attrs)) attributes[k] = str(v, `attributes.${k}`);
  return {
    name: str(o.name, 'name'),
    capacity: resources(obj(o.capacity, 'capacity'), 'capacity'),
    attributes,
    rack: str(o.rack, 'rack', 'rack-0'),
    powerDomain: str(o.powerDomain, 'powerDomain', 'power-0'),
  };
}

export function parseTaskLine(o: Obj): WorkloadTask {
  const cons = o.constraints === undefined ? [] : o.constraints;
  if (!Array.isArray(cons)) throw new BadLine('constraints must be a list');
  const constraints = cons.map((c: unknown, i): WorkloadConstraint => {
    const co = obj(c, `constraints[${i}]`);
    const op = co.op;
    if (typeof op !== 'string' || !WORKLOAD_CONSTRAINT_OPS.includes(op as WorkloadConstraintOp)) throw new BadLine(`constraints[${i}].op must be one of ${WORKLOAD_CONSTRAINT_OPS.join(' ')}`);
    const values = co.values === undefined ? [] : co.values;
    if (!Array.isArray(values)) throw new BadLine(`constraints[${i}].values must be a list`);
    return { key: str(co.key, `constraints[${i}].key`), op: op as WorkloadConstraintOp, values: values.map((v: unknown, j) => str(v, `constraints[${i}].values[${j}]`)) };
  });
  const spread = o.spread === undefined ? {} : obj(o.spread, 'spread');
  const priority = int(o.priority, 'priority');
  if (priority > 1000) throw new BadLine('priority must be at most 1000');
  return {
    job: str(o.job, 'job'),
    user: str(o.user, 'user'),
    index: int(o.index, 'index', 0),
    priority,
    limit: resources(obj(o.limit, 'limit'), 'limit'),
    constraints,
    spread: { maxPerMachine: int(spread.maxPerMachine, 'spread.maxPerMachine', 0), maxPerRack: int(spread.maxPerRack, 'spread.maxPerRack', 0), maxPerPowerDomain: int(spread.maxPerPowerDomain, 'spread.maxPerPowerDomain', 0) },
    submitMs: int(o.submitMs, 'submitMs', 0),
  };
}

/** readJsonlWorkload reads a .jsonl (or .jsonl.gz) workload. `errors` receives up to 20 `line N: problem` strings. */
export async function readJsonlWorkload(path: string, errors: string[] = []): Promise<Workload> {
  const skipped: Record<string, number> = {};
  const machines: WorkloadMachine[] = [];
  const initial: WorkloadTask[] = [];
  const later: WorkloadTask[] = [];
  let n = 0;
  for await (const line of readLines(path)) {
    n++;
    const text = line.trim();
    if (text === '' || text.startsWith('#')) continue;
    try {
      if (text.length > MAX_JSONL_LINE_BYTES) throw new BadLine(`line longer than ${MAX_JSONL_LINE_BYTES} bytes`);
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        throw new BadLine('not valid JSON');
      }
      const o = obj(parsed, 'line');
      if (o.kind === 'machine') machines.push(parseMachineLine(o));
      else if (o.kind === 'task') {
        const t = parseTaskLine(o);
        (t.submitMs === 0 ? initial : later).push(t);
      } else throw new BadLine('kind must be "machine" or "task"');
    } catch (e: unknown) {
      if (!(e instanceof BadLine)) throw e;
      countSkip(skipped, e.message);
      if (errors.length < 20) errors.push(`line ${n}: ${e.message}`);
    }
  }
  later.sort((a, b) => a.submitMs - b.submitMs);
  return { name: basename(path), machines, initial, later, skipped, notes: [`workload ${basename(path)} (JSONL)`] };
}
