// The Tasks page: every task of the cell, filtered and sorted on the server and paged, so 100,000 tasks cost
// one page of rows.
import { html, type Html } from '../escape';
import { BAND_NAMES, TASK_HEALTH_NAMES, TASK_STATE_NAMES, type Page, type TaskQuery, type TaskRow } from '../source';
import { filterForm, pager, taskTable } from './components';
import { layout, type PageContext } from './layout';

export function tasksPage(p: Page<TaskRow>, q: TaskQuery, nowMs: number, ctx: PageContext): Html {
  const filters = { user: q.user, job: q.job, machine: q.machine, state: q.state, health: q.health, band: q.band, q: q.q };
  const query = { ...filters, sort: q.sort, dir: q.dir };
  const body = html`${filterForm(
    '/tasks',
    [
      { name: 'user', label: 'user', value: q.user },
      { name: 'job', label: 'job', value: q.job },
      { name: 'machine', label: 'machine', value: q.machine },
      { name: 'state', label: 'state', value: q.state, options: TASK_STATE_NAMES },
      { name: 'health', label: 'health', value: q.health, options: TASK_HEALTH_NAMES },
      { name: 'band', label: 'band', value: q.band, options: BAND_NAMES },
      { name: 'q', label: 'id contains', value: q.q },
    ],
    { sort: q.sort, dir: q.dir },
  )}
${pager('/tasks', query, p)}
${taskTable(p.rows, { path: '/tasks', query: filters, sort: q.sort, dir: q.dir, nowMs, sortable: true, showJob: true, showBns: false })}
${pager('/tasks', query, p)}`;
  return layout(ctx, 'Tasks', '*', body);
}
