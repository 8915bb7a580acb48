// readLines streams a text file line by line, gunzipping it when its name ends in .gz: every workload reader
// (the 2011 trace's CSV parts, JSONL workloads, the Fauxmaster's event replay) reads files this way.
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';

export async function* readLines(path: string): AsyncGenerator<string> {
  const stream = createReadStream(path);
  const input = path.endsWith('.gz') ? stream.pipe(createGunzip()) : stream;
  const rl = createInterface({ input, crlfDelay: Infinity });
  try {
    for await (const line of rl) yield line;
  } finally {
    rl.close();
    input.destroy();
  }
}
