// PollChannel against the Borglet's own PollStream handler over real gRPC on loopback: replies find their polls
// in any order, a failed poll answers with its error and leaves the stream open, a poll past its deadline fails
// with DEADLINE_EXCEEDED (a late reply is ignored), a refused caller and a broken stream fail the polls out.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Server, ServerCredentials, credentials } from '@grpc/grpc-js';
import { BorgletClient, BorgletService, CHANNEL_OPTIONS, PollRequest, PollResponse } from '../../proto/index';
import { BorgError, InvalidArgument, PermissionDenied } from '../../model/errors';
import { pollStreamHandler, type Authorize, type PollFn } from '../../borglet/server';
import { PollChannel, scanReply, type PollReply } from './poll_stream';

async function serve(poll: PollFn, authorize: Authorize = () => undefined): Promise<{ server: Server; channel: PollChannel; client: InstanceType<typeof BorgletClient> }> {
  const server = new Server(CHANNEL_OPTIONS);
  server.addService(BorgletService, {
    poll: (_call: unknown, cb: (e: Error) => void) => cb(new Error('unary Poll is not used here')),
    pollStream: pollStreamHandler(poll, authorize),
    taskLogs: (_call: unknown, cb: (e: Error) => void) => cb(new Error('not used')),
  });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  const address = `127.0.0.1:${port}`;
  const client = new BorgletClient(address, credentials.createInsecure(), CHANNEL_OPTIONS);
  return { server, channel: new PollChannel(client, address), client };
}

const req = (machine: string) => PollRequest.fromPartial({ cell: 'c', machine, ballot: { round: 1, replica: 1 } });
const reply = (r: PollRequest) => PollResponse.fromPartial({ machine: r.machine, ballotSeen: r.ballot });
/** decoded: a reply's bytes as the message (the channel hands replies over undecoded). */
const decoded = (r: PollReply) => PollResponse.decode(r.bytes);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function rejection(p: Promise<unknown>): Promise<BorgError> {
  try {
    await p;
  } catch (e: unknown) {
    assert.ok(e instanceof BorgError, `a BorgError, got ${String(e)}`);
    return e;
  }
  assert.fail('expected the poll to fail');
}

test('poll stream: replies in any order reach their own polls, on one stream', { timeout: 20_000 }, async (t) => {
  // Machine m<i> answers after (3 - i) * 40 ms: the last poll sent is answered first.
  const s = await serve(async (r) => {
    await sleep((3 - Number(r.machine.slice(1))) * 40);
    return reply(r);
  });
  t.after(() => {
    s.channel.close();
    s.client.close();
    s.server.forceShutdown();
  });
  const now = Date.now();
  const answers = (await Promise.all([0, 1, 2].map((i) => s.channel.poll(req(`m${i}`), now, 5000)))).map(decoded);
  assert.deepEqual(answers.map((a) => a.machine), ['m0', 'm1', 'm2']);
  assert.ok(answers.every((a) => a.error === undefined));
  assert.equal(s.channel.streamsOpened, 1);
  assert.equal(s.channel.outstanding, 0);
});

test('poll stream: a failed poll answers with its error and the stream stays open', { timeout: 20_000 }, async (t) => {
  const s = await serve((r) => {
    if (r.machine === 'bad') throw new InvalidArgument('machine', '"bad" is not a machine here');
    return reply(r);
  });
  t.after(() => {
    s.channel.close();
    s.client.close();
    s.server.forceShutdown();
  });
  const e = await rejection(s.channel.poll(req('bad'), Date.now(), 5000));
  assert.equal(e.code, 'invalid_argument');
  assert.match(e.message, /machine: "bad" is not a machine here/);
  assert.equal(decoded(await s.channel.poll(req('good'), Date.now(), 5000)).machine, 'good');
  assert.equal(s.channel.streamsOpened, 1, 'the error did not close the stream');
});

test('poll stream: a poll past its deadline fails with DEADLINE_EXCEEDED; its late reply is ignored', { timeout: 20_000 }, async (t) => {
  let release: () => void = () => undefined;
  const held = new Promise<void>((r) => (release = r));
  const s = await serve(async (r) => {
    if (r.machine === 'slow') await held;
    return reply(r);
  });
  t.after(() => {
    s.channel.close();
    s.client.close();
    s.server.forceShutdown();
  });
  const sentAt = Date.now();
  const slow = s.channel.poll(req('slow'), sentAt, 1000);
  const fast = decoded(await s.channel.poll(req('fast'), sentAt, 1000));
  assert.equal(fast.machine, 'fast');
  s.channel.expire(sentAt + 999);
  assert.equal(s.channel.outstanding, 1, 'not yet past its deadline');
  s.channel.expire(sentAt + 1000);
  const e = await rejection(slow);
  assert.equal(e.code, 'deadline_exceeded');
  release();
  await sleep(50);
  assert.equal(s.channel.outstanding, 0);
  assert.equal(decoded(await s.channel.poll(req('after'), Date.now(), 1000)).machine, 'after', 'the late reply went nowhere and the stream still works');
});

test('poll stream: a refused caller and a broken stream fail the polls out; the next poll opens a new stream', { timeout: 20_000 }, async (t) => {
  const refused = await serve(reply, () => {
    throw new PermissionDenied('borglet-x is not a master replica of cell c');
  });
  t.after(() => {
    refused.channel.close();
    refused.client.close();
    refused.server.forceShutdown();
  });
  const e = await rejection(refused.channel.poll(req('m'), Date.now(), 5000));
  assert.equal(e.code, 'permission_denied');

  const never = new Promise<PollResponse>(() => undefined);
  const s = await serve((r) => (r.machine === 'stuck' ? never : reply(r)));
  t.after(() => {
    s.channel.close();
    s.client.close();
  });
  assert.equal(decoded(await s.channel.poll(req('m'), Date.now(), 60_000)).machine, 'm');
  const stuck = [s.channel.poll(req('stuck'), Date.now(), 60_000), s.channel.poll(req('stuck'), Date.now(), 60_000)];
  await sleep(50);
  s.server.forceShutdown();
  for (const p of stuck) assert.equal((await rejection(p)).code, 'unavailable');
  assert.equal(s.channel.outstanding, 0);
  const again = await rejection(s.channel.poll(req('m'), Date.now(), 60_000));
  assert.equal(again.code, 'unavailable');
  assert.equal(s.channel.streamsOpened, 2);
});

test('poll stream: a reply body is the same bytes for the same report whatever its poll_seq; scanReply finds both', { timeout: 20_000 }, async (t) => {
  const s = await serve((r) => PollResponse.fromPartial({ machine: r.machine, ballotSeen: r.ballot, desiredVersion: 7, tasks: [{ taskId: 'c/u/j/0', specVersion: 1 }] }));
  t.after(() => {
    s.channel.close();
    s.client.close();
    s.server.forceShutdown();
  });
  const a = await s.channel.poll(req('m'), Date.now(), 5000);
  for (let i = 0; i < 200; i++) await s.channel.poll(req('m'), Date.now(), 5000); // poll_seq grows past one byte
  const b = await s.channel.poll(req('m'), Date.now(), 5000);
  assert.ok(a.bodyEnd > 0 && b.bodyEnd > 0);
  assert.deepEqual(Buffer.from(a.bytes.subarray(0, a.bodyEnd)), Buffer.from(b.bytes.subarray(0, b.bodyEnd)));
  assert.ok(b.bytes.length > a.bytes.length, 'only the poll_seq at the end differs');
  assert.equal(decoded(b).pollSeq, 202);
  assert.equal(scanReply(b.bytes)?.seq, 202);
  // Not protobuf at all, or cut short: no head, so no poll is resolved by it.
  assert.equal(scanReply(Uint8Array.from([0x0a, 0x05, 0x61])), undefined);
  assert.equal(scanReply(Uint8Array.from([0x0f])), undefined);
  assert.equal(scanReply(b.bytes.subarray(0, b.bytes.length - 1)), undefined);
});
