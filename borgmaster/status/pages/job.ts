// The Job page: its spec (command, args, env and annotations as text), and its tasks with their states,
// restarts, machines and BNS names, sortable and paged (a job may have 100,000 tasks).
import { html, href, type Html } from '../escape';
import { TASK_STATE_NAMES, type JobDetail, type JobRow, type Page, type TaskQuery, type TaskRow } from '../source';
import { count, time } from '../format';
import { filterForm, pager, taskLink, taskTable } from './components';
import { specTable } from './spec';
import { layout, type PageContext } from './layout';

export function jobPage(d: JobDetail, tasks: Page<TaskRow>, q: TaskQuery, nowMs: number, ctx: PageContext): Html {
  const j = d.job;
  const path = `/job/${encodeURIComponent(j.user)}/${encodeURIComponent(j.name)}`;
  const filters = { state: q.state, machine: q.machine };
  const query = { ...filters, sort: q.sort, dir: q.dir };
  const ann = Object.entries(d.annotations);
  const body = html`
<div class="cols"><section class="panel"><table class="kv" id="job">
<tr><th>id</th><td class="mono">${j.id}</td></tr>
<tr><th>user</th><td><a href="${href('/jobs', { user: j.user })}">${j.user}</a></td></tr>
<tr><th>priority</th><td>${j.priority} (${j.band})</td></tr>
<tr><th>tasks</th><td>${count(j.taskCount)}: <a href="${href(path, { state: 'RUNNING' })}">${count(j.running)} running</a> (${count(j.healthy)} healthy), <a href="${href(path, { state: 'PENDING' })}">${count(j.pending)} pending</a>, <a href="${href(path, { state: 'DEAD' })}">${count(j.dead)} dead</a></td></tr>
<tr><th>spec version</th><td>${j.specVersion} (rolling updates take down at most ${d.maxTasksDown} at once)</td></tr>
<tr><th>rolling update</th><td id="rollout">${rolloutText(j, d.rolloutDownTasks)}</td></tr>
<tr><th>created</th><td>${time(j.createdMs)}</td></tr>
<tr><th>annotations</th><td>${ann.length === 0 ? '-' : ann.map(([k, v]) => html`<div><code>${k}</code> = <code>${v}</code></div>`)}</td></tr>
<tr><th>events</th><td><a href="${href('/events', { user: j.user, job: j.name })}">history</a></td></tr>
</table></section>
<section class="panel"><h2>Task template</h2>${specTable(d.spec)}</section></div>
<section class="panel"><h2>Tasks</h2>
${filterForm(path, [
  { name: 'state', label: 'state', value: q.state, options: TASK_STATE_NAMES },
  { name: 'machine', label: 'machine', value: q.machine },
], { sort: q.sort, dir: q.dir })}
${pager(path, query, tasks)}
${taskTable(tasks.rows, { path, query: filters, sort: q.sort, dir: q.dir, nowMs, sortable: true, showJob: false, showBns: true })}
${pager(path, query, tasks)}</section>`;
  return layout(ctx, `Job ${j.user}/${j.name}`, `job:${j.id}`, body);
}

/** rolloutText: where the job's rolling update stands, and which restarted tasks it waits on to be healthy. */
function rolloutText(j: JobRow, down: number[]): Html {
  if (j.atVersion >= j.taskCount && down.length === 0) return html`<span class="dim">done: every task at version ${j.specVersion}</span>`;
  const waiting = down.length === 0 ? '' : html`; waiting for ${down.length === 1 ? 'task' : 'tasks'} ${down.map((i, k) => html`${k > 0 ? ', ' : ''}${taskLink({ user: j.user, job: j.name, index: i, id: `${j.id}/${i}` }, String(i))}`)} to run healthy before taking down more`;
  return html`<span class="warnc">${count(j.atVersion)} of ${count(j.taskCount)} tasks at version ${j.specVersion}${waiting}</span>`;
}
