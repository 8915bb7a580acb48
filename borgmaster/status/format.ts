// Number and time formatting for the status page: compact, fixed units, readable at a glance in dense tables.
import { formatBytes, formatCores, type Resources } from '../../model/resources';

/** cpu renders millicores: 250m, 1 core, 1.5 cores, 12 cores (formatCores). */
export const cpu = formatCores;

export function bytes(n: number): string {
  return formatBytes(n);
}

export function resourcesText(r: Resources | undefined): string {
  if (r === undefined) return '-';
  return `${cpu(r.cpuMillis)}, ${bytes(r.ramBytes)} ram, ${bytes(r.diskBytes)} disk, ${r.ports} ports`;
}

export function percent(used: number, capacity: number): string {
  if (capacity <= 0) return used > 0 ? '∞' : '0%';
  const p = (used / capacity) * 100;
  return p > 0 && p < 1 ? '<1%' : `${Math.round(p)}%`;
}

export function count(n: number): string {
  return n.toLocaleString('en-US');
}

/** time renders a cell timestamp (ms since the epoch, leader-stamped) in UTC; 0 means never. */
export function time(ms: number): string {
  if (ms <= 0) return '-';
  return new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

/** ago renders how long before `nowMs` something happened, e.g. 3m12s. */
export function ago(ms: number, nowMs: number): string {
  if (ms <= 0) return '-';
  let s = Math.max(0, Math.round((nowMs - ms) / 1000));
  if (s < 60) return `${s}s`;
  const d = Math.floor(s / 86_400);
  s -= d * 86_400;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  if (d > 0) return `${d}d${h}h`;
  if (h > 0) return `${h}h${m}m`;
  return `${m}m${s}s`;
}

export function seconds(s: number | undefined): string {
  if (s === undefined) return '-';
  if (s < 1) return `${(s * 1000).toFixed(s < 0.01 ? 2 : 1)} ms`;
  return `${s.toFixed(2)} s`;
}
