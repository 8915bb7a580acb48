// Reads that several commands share, paging through the whole answer within the cell's bounds.
import { LIST_PAGE_SIZE_MAX, MAX_MACHINES_PER_CELL } from '../../cells/limits';
import { NotFound } from '../../model/errors';
import { MachineState, type Machine } from '../../proto/index';
import { RPCS, type CellClient } from './client';
import { allPages } from './command';

/** listMachines reads every machine (in `state`, if given), all pages. */
export async function listMachines(client: CellClient, state: MachineState = MachineState.MACHINE_STATE_UNSPECIFIED): Promise<Machine[]> {
  const { items } = await allPages<Machine>(async (pageToken) => {
    const r = await client.read(RPCS.listMachines, { state, pageSize: LIST_PAGE_SIZE_MAX, pageToken });
    return { items: r.machines, next: r.nextPageToken };
  }, Math.ceil(MAX_MACHINES_PER_CELL / LIST_PAGE_SIZE_MAX) + 1);
  return items;
}

/** getMachine finds one machine by name; NotFound (exit 2) when the cell has none of that name. */
export async function getMachine(client: CellClient, name: string): Promise<Machine> {
  const m = (await listMachines(client)).find((x) => x.name === name);
  if (m === undefined) throw new NotFound(`machine ${name}`);
  return m;
}
