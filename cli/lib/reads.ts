// Reads that several commands share, paging through the whole answer within the cell's bounds.
import { LIST_PAGE_SIZE_MAX, MAX_MACHINES_PER_CELL } from '../../cells/limits';
import { NotFound } from '../../model/errors';
import { MachineState, type ListMachinesRequest, type ListMachinesResponse, type Machine } from '../../proto/index';
import { RPCS, type CellClient } from './client';
import { allPages } from './command';

type ListMachines = (req: ListMachinesRequest) => Promise<ListMachinesResponse>;

/** listMachines reads every machine (in `state`, if given), all pages, from any replica (or through `read`). */
export async function listMachines(client: CellClient, state: MachineState = MachineState.MACHINE_STATE_UNSPECIFIED, read: ListMachines = (req) => client.read(RPCS.listMachines, req)): Promise<Machine[]> {
  const { items } = await allPages<Machine>(async (pageToken) => {
    const r = await read({ state, pageSize: LIST_PAGE_SIZE_MAX, pageToken });
    return { items: r.machines, next: r.nextPageToken };
  }, Math.ceil(MAX_MACHINES_PER_CELL / LIST_PAGE_SIZE_MAX) + 1);
  return items;
}

/** SOFT_STATE_TIMEOUT_MS bounds each replica's answer about its polls (best effort: one that is down is skipped). */
const SOFT_STATE_TIMEOUT_MS = 3_000;

/**
 * listMachinesPolled is listMachines with each machine's usage and last poll filled in from the replica whose link
 * shard heard from its Borglet last. That is soft state: each replica polls its share of the machines and knows
 * only those, so every replica is asked (those that do not answer in time are skipped).
 */
export async function listMachinesPolled(client: CellClient, state: MachineState = MachineState.MACHINE_STATE_UNSPECIFIED): Promise<Machine[]> {
  const machines = await listMachines(client, state);
  const newest = new Map<string, Machine>();
  await Promise.all(
    client.replicaAddresses.map(async (address) => {
      const answer = await listMachines(client, state, (req) => client.once(address, RPCS.listMachines, req, SOFT_STATE_TIMEOUT_MS)).catch(() => []);
      for (const m of answer) if (m.lastPollMs > (newest.get(m.name)?.lastPollMs ?? 0)) newest.set(m.name, m);
    }),
  );
  return machines.map((m) => {
    const polled = newest.get(m.name);
    return polled === undefined ? m : { ...m, usage: polled.usage, lastPollMs: polled.lastPollMs };
  });
}

/** getMachine finds one machine by name; NotFound (exit 2) when the cell has none of that name. */
export async function getMachine(client: CellClient, name: string): Promise<Machine> {
  const m = (await listMachines(client)).find((x) => x.name === name);
  if (m === undefined) throw new NotFound(`machine ${name}`);
  return m;
}
