// The Events page: the cell's task-event history, newest first, filterable by user, job, machine, task and type.
import { html, type Html } from '../escape';
import type { EventQuery, EventRow, Page } from '../source';
import { time } from '../format';
import { filterForm, jobLink, machineLink, pager } from './components';
import { layout, type PageContext } from './layout';

function taskHref(taskId: string): Html {
  // Task ids are cell/user/job/index; link by parts so the URL never depends on the id's spelling.
  const parts = taskId.split('/');
  if (parts.length !== 4) return html`${taskId}`;
  const [, user, job, index] = parts as [string, string, string, string];
  return html`<a href="/task/${encodeURIComponent(user)}/${encodeURIComponent(job)}/${encodeURIComponent(index)}">${taskId}</a>`;
}

export function eventsTable(rows: readonly EventRow[]): Html {
  return html`<table class="grid filterable events"><thead><tr><th>time</th><th class="r">log index</th><th>type</th><th>task</th><th>job</th><th>machine</th><th class="r">prio</th><th>message</th></tr></thead><tbody>${
    rows.length === 0
      ? html`<tr><td colspan="8" class="empty">no events match</td></tr>`
      : rows.map(
          (e) =>
            html`<tr><td class="mono nowrap">${time(e.timeMs)}</td><td class="r">${e.logIndex}</td><td><span class="ev ev-${e.type.toLowerCase()}">${e.type}</span></td><td class="mono">${taskHref(e.taskId)}</td><td>${jobLink(e.user, e.job)}</td><td class="mono">${machineLink(e.machine)}</td><td class="r">${e.priority}</td><td class="msg">${e.message}</td></tr>`,
        )
  }</tbody></table>`;
}

export function eventsPage(p: Page<EventRow>, q: EventQuery, types: readonly string[], ctx: PageContext): Html {
  const query = { user: q.user, job: q.job, machine: q.machine, task: q.taskId, type: q.type };
  const body = html`${filterForm(
    '/events',
    [
      { name: 'user', label: 'user', value: q.user },
      { name: 'job', label: 'job', value: q.job },
      { name: 'machine', label: 'machine', value: q.machine },
      { name: 'task', label: 'task id', value: q.taskId },
      { name: 'type', label: 'type', value: q.type, options: types },
    ],
    {},
  )}
${pager('/events', query, p)}${eventsTable(p.rows)}${pager('/events', query, p)}`;
  return layout(ctx, 'Events', '*', body);
}
