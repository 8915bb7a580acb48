// Tables for the one escaping helper: every interpolated value is escaped, Html passes through, arrays join.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { escapeHtml, href, html, jsonForScript, raw } from './escape';

test('escapeHtml escapes every character that can open markup or end an attribute', () => {
  const cases: [string, string][] = [
    ['plain', 'plain'],
    ['<img src=x onerror=alert(1)>', '&lt;img src=x onerror=alert(1)&gt;'],
    ['a & b', 'a &amp; b'],
    ['"quoted" \'single\' `tick`', '&quot;quoted&quot; &#39;single&#39; &#96;tick&#96;'],
    ['&lt;', '&amp;lt;'],
    ['', ''],
  ];
  for (const [input, want] of cases) assert.equal(escapeHtml(input), want, input);
});

test('html escapes values, trusts only Html, and renders arrays and empties', () => {
  const evil = '"><script>alert(1)</script>';
  assert.equal(html`<a title="${evil}">${evil}</a>`.value, '<a title="&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;">&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;</a>');
  assert.equal(html`<b>${html`<i>${'<x>'}</i>`}</b>`.value, '<b><i>&lt;x&gt;</i></b>');
  assert.equal(html`${['<a>', raw('<br>'), 3]}`.value, '&lt;a&gt;<br>3');
  assert.equal(html`[${undefined}${null}${false}]`.value, '[]');
  assert.equal(html`${0}`.value, '0');
});

test('href percent-encodes path queries and skips empty values; jsonForScript cannot close its script', () => {
  assert.equal(href('/tasks', { user: 'a b', job: '', sort: 'id', page: 2, q: '&x=<y>' }), '/tasks?user=a%20b&sort=id&page=2&q=%26x%3D%3Cy%3E');
  assert.equal(href('/jobs'), '/jobs');
  assert.doesNotMatch(jsonForScript({ s: '</script><script>alert(1)</script>' }).value, /<\/script>/);
});
