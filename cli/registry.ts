// The command registry and exit codes shared by every command module.
import { BorgError } from '../model/errors';

export const EXIT = { ok: 0, internal: 1, badInput: 2, refused: 3, unreachable: 4 } as const;

export interface Command {
  summary: string;
  run(args: string[]): Promise<number>;
}

const commands: Record<string, Command> = {};

/** register adds a command; each command module calls it once. */
export function register(name: string, command: Command): void {
  commands[name] = command;
}

export function exitCodeFor(e: unknown): number {
  if (!(e instanceof BorgError)) return EXIT.internal;
  switch (e.code) {
    case 'invalid_argument':
    case 'not_found':
    case 'already_exists':
      return EXIT.badInput;
    case 'permission_denied':
    case 'unauthenticated':
    case 'resource_exhausted':
    case 'failed_precondition':
    case 'aborted':
      return EXIT.refused;
    case 'not_leader':
    case 'unavailable':
    case 'deadline_exceeded':
      return EXIT.unreachable;
    case 'internal':
      return EXIT.internal;
  }
}

/** commandList returns the registered commands, sorted by name. */
export function commandList(): [string, Command][] {
  return Object.entries(commands).sort(([a], [b]) => a.localeCompare(b));
}

export function lookupCommand(name: string): Command | undefined {
  return commands[name];
}
