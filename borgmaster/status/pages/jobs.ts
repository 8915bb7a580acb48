// The Jobs page: every job with its tasks by state; filter by user, band and name, sort by any column, paged.
import { html, type Html } from '../escape';
import { BAND_NAMES, type JobQuery, type JobRow, type Page } from '../source';
import { ago, count } from '../format';
import { filterForm, jobLink, pager, sortHeader } from './components';
import { layout, type PageContext } from './layout';

export function jobsPage(p: Page<JobRow>, q: JobQuery, nowMs: number, ctx: PageContext): Html {
  const query = { user: q.user, band: q.band, q: q.q, sort: q.sort, dir: q.dir };
  const filters = { user: q.user, band: q.band, q: q.q };
  const h = (key: JobQuery['sort'], label: string, cls = '') => sortHeader('/jobs', filters, key, label, q.sort, q.dir, cls);
  const body = html`${filterForm(
    '/jobs',
    [
      { name: 'user', label: 'user', value: q.user },
      { name: 'band', label: 'band', value: q.band, options: BAND_NAMES },
      { name: 'q', label: 'name contains', value: q.q },
    ],
    { sort: q.sort, dir: q.dir },
  )}
${pager('/jobs', query, p)}
<table class="grid filterable" id="jobs"><thead><tr>${h('id', 'job')}${h('user', 'user')}${h('priority', 'prio', 'r')}<th>band</th>${h('tasks', 'tasks', 'r')}${h('running', 'running', 'r')}<th class="r">healthy</th>${h('pending', 'pending', 'r')}${h('dead', 'dead', 'r')}<th class="r">version</th>${h('created', 'age', 'r')}</tr></thead>
<tbody>${
    p.rows.length === 0
      ? html`<tr><td colspan="10" class="empty">no jobs match</td></tr>`
      : p.rows.map(
          (j) =>
            html`<tr><td class="mono">${jobLink(j.user, j.name, j.id)}</td><td>${j.user}</td><td class="r">${j.priority}</td><td>${j.band}</td><td class="r">${count(j.taskCount)}</td><td class="r">${count(j.running)}</td><td class="r ${j.healthy < j.running ? 'warnc' : ''}">${count(j.healthy)}</td><td class="r ${j.pending > 0 ? 'warnc' : ''}">${count(j.pending)}</td><td class="r">${count(j.dead)}</td><td class="r">${j.specVersion}</td><td class="r">${ago(j.createdMs, nowMs)}</td></tr>`,
        )
  }</tbody></table>
${pager('/jobs', query, p)}`;
  return layout(ctx, 'Jobs', '*', body);
}
