// What a follower's link shard may ask the elected master to propose (ReplicaInternal.ForwardCommands): the
// commands link shards make, nothing else, so a replica's identity is not a way to create jobs or set quotas.
import { Command } from '../../proto/index';
import { InvalidArgument } from '../../model/errors';

/** LINK_COMMANDS: the command bodies link shards propose. */
export const LINK_COMMANDS: ReadonlySet<string> = new Set(['transitions', 'reservations', 'health', 'setMachineState']);

/** checkForwarded throws InvalidArgument naming the first forwarded command that is not a link shard's. */
export function checkForwarded(commands: readonly Uint8Array[]): void {
  commands.forEach((bytes, i) => {
    let kind: string | undefined;
    try {
      kind = Command.decode(bytes).body?.$case;
    } catch {
      kind = undefined;
    }
    if (kind === undefined || !LINK_COMMANDS.has(kind)) {
      throw new InvalidArgument(`commands[${i}]`, 'only link-shard commands (task transitions, reservations, health, machine state) may be forwarded');
    }
  });
}
