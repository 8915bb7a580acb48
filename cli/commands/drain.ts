// `borg drain MACHINE`: an admin marks a machine DRAINING (see cli/lib/machine_command.ts).
import { defineMachineCommand } from '../lib/machine_command';

defineMachineCommand('drain');
