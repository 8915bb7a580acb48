// Output for people and for scripts: aligned tables (no colours, so they paste and diff cleanly), `--json`
// documents, and the small formatters (resources, ages, states) every command shares. Pure: returns strings.
import { formatBytes, formatCpu } from '../../model/resources';
import { EventType, MachineState, TaskState, type Resources } from '../../proto/index';

export type Cell = string | number | boolean | undefined;

export interface Column<T> {
  header: string;
  value: (row: T) => Cell;
  /** align right for numbers. */
  right?: boolean;
}

/** table renders rows under upper-case headers, columns separated by two spaces, trailing spaces trimmed. */
export function table<T>(rows: readonly T[], columns: readonly Column<T>[]): string {
  const cells = rows.map((r) => columns.map((c) => text(c.value(r))));
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((row) => (row[i] as string).length)));
  const line = (values: readonly string[]) =>
    values
      .map((v, i) => {
        const w = widths[i] as number;
        const last = i === values.length - 1;
        return columns[i]?.right ? v.padStart(w) : last ? v : v.padEnd(w);
      })
      .join('  ')
      .trimEnd();
  return [line(columns.map((c) => c.header)), ...cells.map(line)].join('\n');
}

function text(v: Cell): string {
  if (v === undefined) return '-';
  if (typeof v === 'boolean') return v ? 'yes' : 'no';
  const s = String(v);
  // One row per line: a newline or tab inside a value (a task message) would break the columns.
  return s === '' ? '-' : s.replace(/[\t\r\n]+/g, ' ');
}

/** jsonLines renders an array with one element per line: still one JSON document, and greppable per item. */
export function jsonLines(items: readonly unknown[]): string {
  if (items.length === 0) return '[]';
  return `[\n${items.map((x) => JSON.stringify(x)).join(',\n')}\n]`;
}

export function json(value: unknown): string {
  return JSON.stringify(value, null, 2);
}

export function cpu(millis: number): string {
  return formatCpu(millis);
}

export function bytes(n: number): string {
  return n === 0 ? '0' : formatBytes(n);
}

export function resources(r: Resources | undefined): string {
  if (r === undefined) return '-';
  return `cpu=${cpu(r.cpuMillis)} ram=${bytes(r.ramBytes)} disk=${bytes(r.diskBytes)} ports=${r.ports}`;
}

/** usedOf renders `used/limit` for one dimension ("-" for a use not known). */
export function usedOf(used: number | undefined, limit: number, fmt: (n: number) => string): string {
  return `${used === undefined ? '-' : fmt(used)}/${fmt(limit)}`;
}

/** age renders how long ago `thenMs` was, relative to `nowMs`: 42s, 5m, 3h, 2d. */
export function age(thenMs: number, nowMs: number): string {
  if (thenMs <= 0) return '-';
  const s = Math.max(0, Math.floor((nowMs - thenMs) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  if (s < 172_800) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86_400)}d`;
}

export function isoTime(ms: number): string {
  return ms > 0 ? new Date(ms).toISOString() : '-';
}

export function taskStateName(s: TaskState): string {
  return TaskState[s] ?? `state ${s}`;
}

export function machineStateName(s: MachineState): string {
  return MachineState[s] ?? `state ${s}`;
}

export function eventTypeName(t: EventType): string {
  return EventType[t] ?? `event ${t}`;
}
