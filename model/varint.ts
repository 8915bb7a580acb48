// Protobuf base-128 varints for the places that write or read protobuf records by hand (the Paxos wire format, the
// standalone replica's encoded snapshot records, poll replies scanned without decoding). Exact for integers in
// [0, 2^53); the caller checks the range where a value comes from outside.

/** varintSize is how many bytes n (a non-negative safe integer) takes as a varint. */
export function varintSize(n: number): number {
  let size = 1;
  while (n >= 128) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

/** writeVarint writes n at pos and returns the position after it (the caller sized buf with varintSize). */
export function writeVarint(buf: Uint8Array, pos: number, n: number): number {
  while (n >= 128) {
    buf[pos++] = (n % 128) | 128;
    n = Math.floor(n / 128);
  }
  buf[pos++] = n;
  return pos;
}

/** end is where the varint readVarint last read ended: a module-level cursor, so a read allocates no tuple. */
let end = 0;

/** readVarint reads the varint at pos; -1 when the bytes end inside it or it runs past 10 bytes. See varintEnd. */
export function readVarint(b: Uint8Array, pos: number): number {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    if (pos >= b.length) return -1;
    const byte = b[pos++] as number;
    value += (byte & 0x7f) * scale;
    if ((byte & 0x80) === 0) {
      end = pos;
      return value;
    }
    scale *= 128;
  }
  return -1;
}

/** varintEnd is the position just after the varint the last successful readVarint read. */
export function varintEnd(): number {
  return end;
}
