// The Borgmaster replica daemon: `node --import tsx borgmaster/main.ts --cell cells/local.yaml --replica 1`.
// Certificates must already exist (borg up prepares them). SIGINT/SIGTERM close it cleanly; kill -9 is safe too:
// everything Paxos needs is fsynced before it is acknowledged.
import { loadCellConfig } from '../cells/config';
import { InvalidArgument } from '../model/errors';
import { Replica } from './replica';

const USAGE = 'usage: borgmaster --cell FILE --replica ID [--no-bns]';

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args.includes('--help')) {
    console.log(USAGE);
    return;
  }
  const cellFile = flag(args, '--cell');
  const id = Number(flag(args, '--replica'));
  if (!cellFile) throw new InvalidArgument('--cell', `is required\n${USAGE}`);
  if (!Number.isInteger(id) || id <= 0) throw new InvalidArgument('--replica', `must be a replica id\n${USAGE}`);
  const loaded = loadCellConfig(cellFile);
  // --no-bns: borg up found no Redis to publish to; the cell runs without BNS rather than retrying forever.
  const config = args.includes('--no-bns') ? { ...loaded, bns: { redis: undefined } } : loaded;
  const replica = await Replica.start({ config, replicaId: id, log: (m) => console.log(m) });
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await replica.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
}

main().catch((e: unknown) => {
  console.error(`borgmaster: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(e instanceof InvalidArgument ? 2 : 1);
});
