import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bnsName, bnsJobName, formatTaskId, parseBnsName, parseTaskId, parseJobId, validateName } from './ids';
import { InvalidArgument } from './errors';

test('task id and BNS name round trips', () => {
  const ids = [
    { cell: 'local', user: 'ubar', job: 'web', index: 0 },
    { cell: 'cc', user: 'a', job: 'j-1_x', index: 99_999 },
  ];
  for (const id of ids) {
    assert.deepEqual(parseTaskId(formatTaskId(id)), id);
    assert.deepEqual(parseBnsName(bnsName(id)), id);
  }
  assert.equal(bnsName(ids[0]!), '0.web.ubar.local.borg');
  assert.equal(bnsJobName(ids[0]!), 'web.ubar.local.borg');
  assert.deepEqual(parseBnsName('web.ubar.local.borg'), { cell: 'local', user: 'ubar', job: 'web' });
  assert.deepEqual(parseJobId('local/ubar/web'), { cell: 'local', user: 'ubar', job: 'web' });
});

test('malformed names are rejected with the field', () => {
  const badTaskIds = ['local/ubar/web', 'local/ubar/web/-1', 'local/ubar/web/01', 'local/ubar/web/x', 'Local/ubar/web/0',
    'local//web/0', 'local/ubar/web/0/1', 'local/ubar/web/100000', 'local/u.b/web/0', ''];
  for (const s of badTaskIds) assert.throws(() => parseTaskId(s), InvalidArgument, s);
  const badBns = ['0.web.ubar.local', '0.web.ubar.local.borg.borg', 'x.web.ubar.local.borg', '0.web.ubar.local.com', 'borg'];
  for (const s of badBns) assert.throws(() => parseBnsName(s), InvalidArgument, s);
  assert.throws(() => validateName('9lives', 'spec.name'), /spec\.name: "9lives" is not a valid name/);
  assert.throws(() => validateName('a'.repeat(64), 'spec.name'), InvalidArgument);
  assert.equal(validateName('a'.repeat(63), 'spec.name'), 'a'.repeat(63));
  assert.throws(() => validateName(undefined, 'spec.user'), /spec\.user: is required/);
});
