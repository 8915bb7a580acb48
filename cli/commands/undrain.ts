// `borg undrain MACHINE`: an admin puts a drained machine back in service (see cli/lib/machine_command.ts).
import { defineMachineCommand } from '../lib/machine_command';

defineMachineCommand('undrain');
