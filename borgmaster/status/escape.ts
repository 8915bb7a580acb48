// The one escaping helper of the status page: every page is built with the `html` tagged template, which escapes
// each interpolated value unless it is already Html. User values (args, env, annotations, messages) can therefore
// only ever render as text; an env value `<img src=x onerror=alert(1)>` shows as those characters.

/** Html is markup that is already safe (built by `html` or `raw`); only it passes through unescaped. */
export class Html {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

const ENTITIES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;' };

/** escapeHtml makes text safe in element content and in quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"'`]/g, (c) => ENTITIES[c] ?? c);
}

export type HtmlValue = Html | string | number | boolean | null | undefined | readonly HtmlValue[];

function render(v: HtmlValue): string {
  if (v === null || v === undefined || v === false) return '';
  if (v instanceof Html) return v.value;
  if (Array.isArray(v)) return v.map(render).join('');
  return escapeHtml(String(v));
}

/** html builds markup: literal parts are trusted (they are in our source), every value is escaped. */
export function html(strings: TemplateStringsArray, ...values: readonly HtmlValue[]): Html {
  let out = strings[0] ?? '';
  for (let i = 0; i < values.length; i++) out += render(values[i] as HtmlValue) + (strings[i + 1] ?? '');
  return new Html(out);
}

/** raw marks text as trusted markup; use it only for markup built here (e.g. generated SVG numbers), never user text. */
export function raw(markup: string): Html {
  return new Html(markup);
}

/** href builds a link path with a query; each part is percent-encoded (the result is escaped again by `html`). */
export function href(path: string, query: Readonly<Record<string, string | number | undefined>> = {}): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined || v === '') continue;
    parts.push(`${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`);
  }
  return parts.length === 0 ? path : `${path}?${parts.join('&')}`;
}

/** seg percent-encodes one path segment (names are validated, but a link never trusts that). */
export function seg(s: string): string {
  return encodeURIComponent(s);
}

/** jsonForScript embeds data in a <script type="application/json"> block: `<` is escaped so it cannot close it. */
export function jsonForScript(data: unknown): Html {
  return new Html(JSON.stringify(data).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029'));
}
