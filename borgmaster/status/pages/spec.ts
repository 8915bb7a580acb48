// A task spec as a table: command, args, env, constraints. These are user values: all of them go through the
// escaping template, so whatever a user put in an env value renders as text.
import { html, type Html } from '../escape';
import type { TaskSpecView } from '../source';

export function specTable(s: TaskSpecView): Html {
  const env = Object.entries(s.env);
  return html`<table class="kv spec"><tr><th>command</th><td class="mono">${s.command}</td></tr>
<tr><th>args</th><td class="mono">${s.args.length === 0 ? '-' : s.args.map((a) => html`<span class="arg">${a}</span> `)}</td></tr>
<tr><th>env</th><td class="mono env">${env.length === 0 ? '-' : env.map(([k, v]) => html`<div><b>${k}</b>=<span class="env-value">${v}</span></div>`)}</td></tr>
<tr><th>working dir</th><td class="mono">${s.workingDir || '-'}</td></tr>
<tr><th>constraints</th><td class="mono">${s.constraints.length === 0 ? '-' : s.constraints.map((c) => html`<div>${c}</div>`)}</td></tr>
<tr><th>restart policy</th><td>${s.restartPolicy}</td></tr>
<tr><th>health check</th><td>${s.healthCheck || '-'}</td></tr></table>`;
}
