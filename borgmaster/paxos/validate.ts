// validateMessage checks an incoming PaxosMessage before the core looks at it: a malformed message (from a bug,
// a corrupted frame or a hostile peer) gets a precise InvalidArgument and changes nothing.
import { InvalidArgument } from '../../model/errors';
import { PaxosMessage_Type, type Ballot, type PaxosMessage } from '../../proto/index';

const T = PaxosMessage_Type;

function u64(v: number, field: string): void {
  if (!Number.isSafeInteger(v) || v < 0) throw new InvalidArgument(field, `must be a non-negative integer, got ${v}`);
}

function ballotOf(m: PaxosMessage, field: string): Ballot {
  const b = m.ballot;
  if (b === undefined) throw new InvalidArgument(field, 'missing');
  u64(b.round, `${field}.round`);
  u64(b.replica, `${field}.replica`);
  return b;
}

/** validateMessage throws InvalidArgument naming the first bad field of m. */
export function validateMessage(m: PaxosMessage, selfId: number, members: ReadonlyMap<number, number>, maxEntries: number): void {
  if (!members.has(m.from) || m.from === selfId) throw new InvalidArgument('message.from', `${m.from} is not another replica of this cell`);
  if (m.to !== selfId) throw new InvalidArgument('message.to', `addressed to ${m.to}, this is replica ${selfId}`);
  for (const k of ['fromSlot', 'commitIndex', 'index', 'tick'] as const) u64(m[k], `message.${k}`);
  if (m.entries.length > maxEntries) throw new InvalidArgument('message.entries', `${m.entries.length} entries exceed the limit ${maxEntries}`);
  let prev = 0;
  m.entries.forEach((e, i) => {
    const f = `message.entries[${i}]`;
    u64(e.slot, `${f}.slot`);
    if (e.slot <= prev) throw new InvalidArgument(`${f}.slot`, `slots must increase (${e.slot} after ${prev})`);
    if ((m.type === T.ACCEPT || m.type === T.CHOSEN) && prev !== 0 && e.slot !== prev + 1) {
      throw new InvalidArgument(`${f}.slot`, `slots must be contiguous (${e.slot} after ${prev})`);
    }
    if (!(e.value instanceof Uint8Array)) throw new InvalidArgument(`${f}.value`, 'must be bytes');
    if (m.type === T.PROMISE || m.type === T.CHOSEN) {
      if (e.ballot === undefined) throw new InvalidArgument(`${f}.ballot`, 'missing');
      u64(e.ballot.round, `${f}.ballot.round`);
      u64(e.ballot.replica, `${f}.ballot.replica`);
    }
    if (e.noop && e.value.length !== 0) throw new InvalidArgument(`${f}.value`, 'a noop carries no value');
    prev = e.slot;
  });
  switch (m.type) {
    case T.PREPARE:
    case T.ACCEPT:
    case T.HEARTBEAT: {
      const b = ballotOf(m, 'message.ballot');
      if (b.round < 1 || b.replica !== m.from) throw new InvalidArgument('message.ballot', `a proposer leads only its own ballots (round >= 1, replica ${m.from})`);
      if (m.type === T.PREPARE && m.fromSlot < 1) throw new InvalidArgument('message.fromSlot', 'slots start at 1');
      if (m.type !== T.ACCEPT && m.entries.length > 0) throw new InvalidArgument('message.entries', 'not allowed in this message type');
      return;
    }
    case T.PROMISE: {
      const b = ballotOf(m, 'message.ballot');
      if (b.round < 1) throw new InvalidArgument('message.ballot', 'round must be >= 1');
      if (m.fromSlot < 1) throw new InvalidArgument('message.fromSlot', 'slots start at 1');
      const first = m.entries[0];
      if (first !== undefined && first.slot < m.fromSlot) throw new InvalidArgument('message.entries[0].slot', `below from_slot ${m.fromSlot}`);
      const last = m.entries[m.entries.length - 1];
      if (m.more && last !== undefined && last.slot > m.index) throw new InvalidArgument('message.index', `a cut promise must cover its entries (last ${last.slot} > ${m.index})`);
      if (m.more && m.index < m.fromSlot) throw new InvalidArgument('message.index', 'a cut promise must cover at least one slot');
      if (m.snapshot) u64(m.snapshot.index, 'message.snapshot.index');
      return;
    }
    case T.NACK:
      ballotOf(m, 'message.ballot');
      if (m.entries.length > 0) throw new InvalidArgument('message.entries', 'not allowed in this message type');
      return;
    case T.HEARTBEAT_ACK:
      ballotOf(m, 'message.ballot');
      // from_slot 0: the follower holds nothing above its commit in this ballot; otherwise a non-empty range.
      if (m.fromSlot >= 1 && m.index < m.fromSlot) throw new InvalidArgument('message.index', `held range [${m.fromSlot}, ${m.index}] is empty`);
      if (m.entries.length > 0) throw new InvalidArgument('message.entries', 'not allowed in this message type');
      return;
    case T.ACCEPTED:
      ballotOf(m, 'message.ballot');
      if (m.fromSlot < 1 || m.index < m.fromSlot) throw new InvalidArgument('message.index', `accepted range [${m.fromSlot}, ${m.index}] is empty`);
      if (m.entries.length > 0) throw new InvalidArgument('message.entries', 'not allowed in this message type');
      return;
    case T.CATCHUP:
      if (m.index < 1) throw new InvalidArgument('message.index', 'slots start at 1');
      if (m.entries.length > 0) throw new InvalidArgument('message.entries', 'not allowed in this message type');
      return;
    case T.CHOSEN:
      return;
    case T.SNAPSHOT:
      if (m.snapshot === undefined) throw new InvalidArgument('message.snapshot', 'missing');
      u64(m.snapshot.index, 'message.snapshot.index');
      if (m.snapshot.index < 1) throw new InvalidArgument('message.snapshot.index', 'must be >= 1');
      if (!(m.snapshot.data instanceof Uint8Array)) throw new InvalidArgument('message.snapshot.data', 'must be bytes');
      return;
    case T.TYPE_UNSPECIFIED:
      throw new InvalidArgument('message.type', 'unspecified');
    default: {
      const t: number = m.type;
      throw new InvalidArgument('message.type', `unknown type ${t}`);
    }
  }
}
