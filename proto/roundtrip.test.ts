// Every message in proto/borg/v1 goes through encode/decode with every field set, and comes back equal. The
// field list comes from the .proto files themselves (protobufjs reflection), so a new field is covered the
// moment it is added.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { readdirSync } from 'node:fs';
import protobuf from 'protobufjs';
import * as wire from './index';

interface Codec {
  fromJSON(o: unknown): unknown;
  toJSON(m: unknown): unknown;
  encode(m: unknown): { finish(): Uint8Array };
  decode(b: Uint8Array): unknown;
}

const root = new protobuf.Root();
root.resolvePath = (_origin, target) => fileURLToPath(new URL(target.startsWith('borg/') ? target : `borg/v1/${target}`, import.meta.url));
// Every .proto in borg/v1, so a new file is covered the moment it is added.
root.loadSync(readdirSync(fileURLToPath(new URL('borg/v1/', import.meta.url))).filter((f) => f.endsWith('.proto')).map((f) => `borg/v1/${f}`));
root.resolveAll();

function allTypes(ns: protobuf.NamespaceBase, out: protobuf.Type[] = []): protobuf.Type[] {
  for (const nested of ns.nestedArray) {
    if (nested instanceof protobuf.Type) out.push(nested);
    if (nested instanceof protobuf.Namespace || nested instanceof protobuf.Type) allTypes(nested, out);
  }
  return out;
}

/** sample builds a JSON value with every field set to a non-default value. */
function sample(type: protobuf.Type, depth: number): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const field of type.fieldsArray) {
    const one = scalar(field, depth);
    if (one === undefined) continue;
    if (field.map) o[field.name] = { k1: one, k2: one };
    else o[field.name] = field.repeated ? [one, one] : one;
  }
  return o;
}

function scalar(field: protobuf.Field, depth: number): unknown {
  const rt = field.resolvedType;
  if (rt instanceof protobuf.Enum) return Object.keys(rt.values).at(-1);
  if (rt instanceof protobuf.Type) return depth > 3 ? undefined : sample(rt, depth + 1);
  switch (field.type) {
    case 'string': return `s-${field.name}`;
    case 'bool': return true;
    case 'bytes': return Buffer.from([1, 2, 255]).toString('base64');
    case 'double': case 'float': return 1.5;
    case 'int64': case 'sint64': case 'sfixed64': return -(2 ** 40);
    case 'uint64': case 'fixed64': return 2 ** 52 + 1;
    case 'int32': case 'sint32': case 'sfixed32': return -7;
    default: return 7;
  }
}

// ts-proto names nested types Outer_Inner.
const codecName = (t: protobuf.Type): string => t.fullName.replace(/^\.borg\.v1\./, '').replace(/\./g, '_');

test('every proto message round-trips through encode/decode with every field set', () => {
  const types = allTypes(root.lookup('borg.v1') as protobuf.Namespace).filter((t) => !t.options?.map_entry && !t.name.endsWith('Entry'));
  assert.ok(types.length > 50, `found ${types.length} message types`);
  const codecs = wire as unknown as Record<string, Codec | undefined>;
  for (const type of types) {
    const codec = codecs[codecName(type)];
    assert.ok(codec && typeof codec.encode === 'function', `no generated codec for ${type.fullName}`);
    const json = sample(type, 0);
    const msg = codec.fromJSON(json);
    const bytes = codec.encode(msg).finish();
    assert.ok(bytes.length > 0 || type.fieldsArray.length === 0, `${type.name} encodes to bytes`);
    const back = codec.decode(bytes);
    assert.deepEqual(back, msg, `${type.name} decodes to what was encoded`);
    assert.deepEqual(codec.toJSON(back), codec.toJSON(msg), `${type.name} JSON survives`);
    // protobufjs, an independent implementation, reads our bytes the same way.
    const viaPbjs = type.toObject(type.decode(bytes), { longs: Number, enums: String, bytes: String, defaults: false });
    assert.deepEqual(normalise(viaPbjs), normalise(codec.toJSON(msg)), `${type.name} agrees with protobufjs`);
  }
});

test('int64 beyond 2^53 is refused on decode, not silently rounded', () => {
  const w = protobuf.Writer.create();
  w.uint32((2 << 3) | 0).int64(protobuf.util.LongBits.fromNumber(2 ** 53).toLong() as unknown as number);
  assert.throws(() => wire.Resources.decode(w.finish()), /MAX_SAFE_INTEGER/);
});

function normalise(v: unknown): unknown {
  return JSON.parse(JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? Number(x) : x)));
}
