// The real Borglet daemon speaks PollStream, the protocol the master's link shards use (borgmaster/link/
// poll_stream.ts): polls on one stream are judged by ballot one by one (an older master's poll is refused and its
// empty desired state kills nothing), a bad poll answers with its error and leaves the stream open, and the newest
// master's orders are obeyed. Real daemon, real gRPC, real cgroups (root).
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { credentials } from '@grpc/grpc-js';
import { BorgletClient, CHANNEL_OPTIONS, PollRequest, PollResponse, TaskState, type Ballot, type DesiredTask } from '../proto/index';
import { BorgError } from '../model/errors';
import { PollChannel } from '../borgmaster/link/poll_stream';
import { TestMachine, spec, task, find, waitFor, alive, type Daemon } from './borglet_support';

const m = new TestMachine('stream');
let d: Daemon;
let client: InstanceType<typeof BorgletClient>;
let channel: PollChannel;

before(async () => {
  d = await m.start(['--cpu', '1', '--ram', '1GiB', '--sample-interval', '100ms']);
  client = new BorgletClient(d.address, credentials.createInsecure(), CHANNEL_OPTIONS);
  channel = new PollChannel(client, d.address);
});
after(async () => {
  channel?.close();
  client?.close();
  await m.cleanup();
});

async function poll(ballot: Ballot, tasks: DesiredTask[]): Promise<PollResponse> {
  const req = PollRequest.fromPartial({ cell: 'test', machine: '', ballot, replica: ballot.replica, authoritative: true, tasks });
  const reply = await channel.poll(req, Date.now(), 10_000);
  const r = PollResponse.decode(reply.bytes);
  assert.equal(r.pollSeq, req.pollSeq, 'the reply carries its poll\'s poll_seq');
  return r;
}

test('PollStream on the real Borglet: ballots judged per poll, a bad poll answered with its error, the stream kept', { timeout: 60_000 }, async () => {
  const t = task(0, spec('/bin/sleep', ['100']));
  const started = await poll({ round: 2, replica: 1 }, [t]);
  assert.equal(started.refused, false);
  const s = find(started, t.taskId);
  assert.equal(s.state, TaskState.RUNNING, s.message);
  assert.ok(alive(s.pid));

  // A deposed master (older ballot) on the same stream: refused, and its empty desired state kills nothing.
  const old = await poll({ round: 1, replica: 3 }, []);
  assert.equal(old.refused, true);
  assert.deepEqual(old.ballotSeen, { round: 2, replica: 1 });
  assert.ok(alive(s.pid), 'the refused poll stopped nothing');

  // A malformed poll fails alone, with the field named.
  let error: unknown;
  try {
    await poll({ round: 2, replica: 1 }, [t, t]);
  } catch (e: unknown) {
    error = e;
  }
  assert.ok(error instanceof BorgError && error.code === 'invalid_argument', String(error));
  assert.match(error.message, /tasks\[1\]\.taskId/);
  assert.ok(alive(s.pid), 'the bad poll changed nothing');

  // The current master's next poll, on the same stream, is obeyed: the task it no longer lists is killed.
  const stopped = await poll({ round: 2, replica: 1 }, []);
  assert.equal(stopped.refused, false);
  await waitFor('the unlisted task to be killed', () => !alive(s.pid), 15_000);
  assert.equal(channel.streamsOpened, 1, 'every poll went over one stream');
});
