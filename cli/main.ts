// The `borg` command: dispatches to one module per command. Exit codes distinguish bad input (2), refused (3),
// unreachable (4) and internal errors (1), so scripts can tell them apart.
import { EXIT, commandList, exitCodeFor, lookupCommand } from './registry';
import './commands';
import { BorgError } from '../model/errors';

function usage(): string {
  const width = Math.max(...commandList().map(([n]) => n.length), 4);
  const lines = commandList().map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return ['usage: borg COMMAND [options]', '', 'commands:', ...lines, '', 'borg COMMAND --help shows a command\'s options and an example.'].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return name === undefined ? EXIT.badInput : EXIT.ok;
  }
  const command = lookupCommand(name);
  if (!command) {
    console.error(`borg: unknown command ${JSON.stringify(name)}\n\n${usage()}`);
    return EXIT.badInput;
  }
  try {
    return await command.run(rest);
  } catch (e: unknown) {
    console.error(`borg ${name}: ${e instanceof Error ? e.message : String(e)}`);
    if (e instanceof BorgError && e.code === 'permission_denied' && e.message.includes('needs the admin role')) {
      console.error('  (act as one of the cell\'s admins, listed under `admins` in its config: --user NAME)');
    }
    return exitCodeFor(e);
  }
}

process.exitCode = await main(process.argv.slice(2));
