// Table pieces shared by the pages: sortable headers and pagers (server-side; links keep every filter), filter
// forms, state badges, and the task table used by the job, tasks and machine pages.
import { html, href, seg, type Html } from '../escape';
import type { Page, SortDir, TaskRow } from '../source';
import { ago, bytes, count, cpu } from '../format';
import { meter } from '../charts';

export type Query = Readonly<Record<string, string | number | undefined>>;

/** sortHeader links a column to sort by it; clicking the active column flips the direction. */
export function sortHeader(path: string, query: Query, key: string, label: string, sort: string, dir: SortDir, cls = ''): Html {
  const on = sort === key;
  const next: SortDir = on && dir === 'asc' ? 'desc' : on ? 'asc' : key === 'id' || key === 'user' || key === 'machine' ? 'asc' : 'desc';
  const arrow = on ? (dir === 'asc' ? ' ▲' : ' ▼') : '';
  return html`<th class="${cls}"><a href="${href(path, { ...query, sort: key, dir: next, page: undefined })}" class="${on ? 'on' : ''}">${label}${arrow}</a></th>`;
}

export function pager<T>(path: string, query: Query, p: Page<T>): Html {
  const pageNo = Math.floor(p.offset / p.limit) + 1;
  const pages = Math.max(1, Math.ceil(p.total / p.limit));
  const first = p.total === 0 ? 0 : p.offset + 1;
  const last = p.offset + p.rows.length;
  const link = (n: number, label: string) => (n < 1 || n > pages || n === pageNo ? html`<span class="dis">${label}</span>` : html`<a href="${href(path, { ...query, page: n })}" rel="${label === 'next ›' ? 'next' : ''}">${label}</a>`);
  return html`<div class="pager"><span>${count(first)}–${count(last)} of <b class="total">${count(p.total)}</b></span>${link(1, '« first')}${link(pageNo - 1, '‹ prev')}<span>page ${count(pageNo)} of ${count(pages)}</span>${link(pageNo + 1, 'next ›')}${link(pages, 'last »')}</div>`;
}

export interface FilterField {
  name: string;
  label: string;
  value: string | undefined;
  /** options: a select with these values ('' = any); otherwise a text box. */
  options?: readonly string[];
}

export function filterForm(path: string, fields: readonly FilterField[], keep: Query): Html {
  const hidden = Object.entries(keep)
    .filter(([, v]) => v !== undefined && v !== '')
    .map(([k, v]) => html`<input type="hidden" name="${k}" value="${String(v)}">`);
  const inputs = fields.map((f) =>
    f.options !== undefined
      ? html`<label>${f.label} <select name="${f.name}"><option value="">any</option>${f.options.map((o) => html`<option${o === f.value ? html` selected` : ''}>${o}</option>`)}</select></label>`
      : html`<label>${f.label} <input name="${f.name}" value="${f.value ?? ''}" size="14" autocomplete="off"></label>`,
  );
  return html`<form class="filters" method="get" action="${path}">${hidden}${inputs}<button type="submit">filter</button> <a href="${path}">clear</a></form>`;
}

export function stateBadge(state: string): Html {
  return html`<span class="st st-${state.toLowerCase()}">${state}</span>`;
}

/** taskStateBadge: the state, and for a running task its Borglet does not report healthy, a second badge saying so. */
export function taskStateBadge(t: { state: string; healthy: boolean }): Html {
  return t.state === 'RUNNING' && !t.healthy ? html`${stateBadge(t.state)} <span class="st st-unhealthy">UNHEALTHY</span>` : stateBadge(t.state);
}

export function taskLink(t: { user: string; job: string; index: number; id: string }, label?: string): Html {
  return html`<a href="/task/${seg(t.user)}/${seg(t.job)}/${t.index}">${label ?? t.id}</a>`;
}

export function jobLink(user: string, job: string, label?: string): Html {
  return html`<a href="/job/${seg(user)}/${seg(job)}">${label ?? `${user}/${job}`}</a>`;
}

export function machineLink(name: string): Html {
  return name === '' ? html`<span class="dim">-</span>` : html`<a href="/machine/${seg(name)}">${name}</a>`;
}

export interface TaskTableOptions {
  path: string;
  query: Query;
  sort: string;
  dir: SortDir;
  nowMs: number;
  /** sortable: headers link to server-side sorts (the job page sorts too; the machine page does not). */
  sortable: boolean;
  showJob: boolean;
  showBns: boolean;
  /** scale for the resource meters (a machine's capacity), or undefined for a plain limit column. */
  meterScale?: { cpuMillis: number; ramBytes: number };
}

export function taskTable(rows: readonly TaskRow[], o: TaskTableOptions): Html {
  const h = (key: string, label: string, cls = '') => (o.sortable ? sortHeader(o.path, o.query, key, label, o.sort, o.dir, cls) : html`<th class="${cls}">${label}</th>`);
  const head = html`<tr>${h('id', o.showJob ? 'task' : '#')}${h('state', 'state')}${h('priority', 'prio', 'r')}${h('machine', 'machine')}${h('restarts', 'restarts', 'r')}${h('cpu', 'cpu', 'r')}${h('ram', 'ram', 'r')}${o.meterScale !== undefined ? html`<th>cpu lim / res / use</th><th>ram lim / res / use</th>` : ''}${h('time', 'in state', 'r')}${o.showBns ? html`<th>BNS name</th><th>ports</th>` : ''}<th>last event</th></tr>`;
  const body = rows.map((t) => {
    const scale = o.meterScale;
    return html`<tr data-task="${t.id}"><td class="mono">${taskLink(t, o.showJob ? t.id : String(t.index))}</td><td>${taskStateBadge(t)}</td><td class="r">${t.priority}</td><td class="mono">${machineLink(t.machine)}</td><td class="r">${t.restarts}</td><td class="r">${cpu(t.limit.cpuMillis)}</td><td class="r">${bytes(t.limit.ramBytes)}</td>${
      scale !== undefined
        ? html`<td>${meter(scale.cpuMillis, t.limit.cpuMillis, t.reservation?.cpuMillis, t.usage?.cpuMillis, cpu)}</td><td>${meter(scale.ramBytes, t.limit.ramBytes, t.reservation?.ramBytes, t.usage?.ramBytes, bytes)}</td>`
        : ''
    }<td class="r">${ago(t.stateTimeMs, o.nowMs)}</td>${o.showBns ? html`<td class="mono">${t.state === 'RUNNING' ? t.bnsName : html`<span class="dim">${t.bnsName}</span>`}</td><td class="mono">${t.ports.join(',')}</td>` : ''}<td class="msg">${t.lastEvent}${t.message !== '' ? html` <span class="dim">${t.message}</span>` : ''}</td></tr>`;
  });
  return html`<table class="grid filterable"><thead>${head}</thead><tbody>${rows.length === 0 ? html`<tr><td colspan="13" class="empty">no tasks match</td></tr>` : body}</tbody></table>`;
}
