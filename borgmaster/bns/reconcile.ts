// The pure half of BNS publishing: given the records the master wants and what Redis holds, the writes that make
// Redis equal the master's view (nothing stale, nothing missing). Used after every Redis (re)connect.
import { taskKey, jobKey, encodeEndpoint, isCount, SIZE_FIELD, type BnsJob, type BnsRecord } from './records';

export type BnsWrite =
  | { kind: 'set'; key: string; value: string }
  | { kind: 'hset'; key: string; field: string; value: string }
  | { kind: 'del'; key: string }
  | { kind: 'hdel'; key: string; field: string };

/** Desired is the full content Redis should hold for a cell: string keys and hash keys with their fields. */
export interface Desired {
  strings: Map<string, string>;
  hashes: Map<string, Map<string, string>>;
}

export function desiredFrom(records: Iterable<BnsRecord>, jobs: Iterable<BnsJob> = []): Desired {
  const strings = new Map<string, string>();
  const hashes = new Map<string, Map<string, string>>();
  const hash = (key: string) => {
    let h = hashes.get(key);
    if (!h) hashes.set(key, (h = new Map()));
    return h;
  };
  for (const r of records) {
    const value = encodeEndpoint(r.endpoint);
    strings.set(taskKey(r.id), value);
    hash(jobKey(r.id)).set(String(r.id.index), value);
  }
  for (const j of jobs) hash(jobKey(j.id)).set(SIZE_FIELD, String(j.size));
  return { strings, hashes };
}

/** fieldOrder: task indexes in numeric order, then the job's other fields (size) by name. */
function fieldOrder(a: string, b: string): number {
  const ia = isCount(a);
  const ib = isCount(b);
  if (ia && ib) return Number(a) - Number(b);
  if (ia !== ib) return ia ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** reconcile returns the writes that turn `actual` into `desired`, in key order for determinism. */
export function reconcile(desired: Desired, actual: Desired): BnsWrite[] {
  const writes: BnsWrite[] = [];
  const keys = [...new Set([...desired.strings.keys(), ...actual.strings.keys()])].sort();
  for (const key of keys) {
    const want = desired.strings.get(key);
    const have = actual.strings.get(key);
    if (want === undefined) writes.push({ kind: 'del', key });
    else if (want !== have) writes.push({ kind: 'set', key, value: want });
  }
  const hashKeys = [...new Set([...desired.hashes.keys(), ...actual.hashes.keys()])].sort();
  for (const key of hashKeys) {
    const want = desired.hashes.get(key);
    const have = actual.hashes.get(key) ?? new Map<string, string>();
    if (want === undefined) {
      writes.push({ kind: 'del', key });
      continue;
    }
    const fields = [...new Set([...want.keys(), ...have.keys()])].sort(fieldOrder);
    for (const field of fields) {
      const w = want.get(field);
      if (w === undefined) writes.push({ kind: 'hdel', key, field });
      else if (w !== have.get(field)) writes.push({ kind: 'hset', key, field, value: w });
    }
  }
  return writes;
}
