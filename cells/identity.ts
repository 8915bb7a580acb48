// Where a cell's certificates live and who gets one. `borg up` (or a test) calls prepareIdentities once, before
// any daemon starts, so daemons only ever read certificates and never race to create the CA. Layout under the
// cell's security.caDir: ca.crt and ca.key (the cell CA), certs/<common name>.{crt,key}.
import { join } from 'node:path';
import { access } from 'node:fs/promises';
import { ensureCellCa, issueCert, loadCert, type Role, type TlsMaterial } from './security/index';
import type { CellConfig } from './config';

export interface Identity {
  commonName: string;
  roles: Role[];
}

export function certDir(config: CellConfig): string {
  return join(config.security.caDir, 'certs');
}

export const replicaName = (id: number): string => `replica-${id}`;
export const SCHEDULER_NAME = 'scheduler';
export const borgletName = (machine: string): string => `borglet-${machine}`;
/** SIM_BORGLETS_NAME: the one identity of the process serving every simulated machine (sim/borglets). */
export const SIM_BORGLETS_NAME = 'borglet-simulated';

/** cellIdentities lists every daemon identity of a cell plus its admins and the given users. */
export function cellIdentities(config: CellConfig, users: readonly string[] = []): Identity[] {
  return [
    ...config.replicas.map((r) => ({ commonName: replicaName(r.id), roles: ['replica'] as Role[] })),
    { commonName: SCHEDULER_NAME, roles: ['scheduler'] },
    ...config.machines.map((m) => ({ commonName: borgletName(m.name), roles: ['borglet'] as Role[] })),
    ...(config.simulatedMachines ? [{ commonName: SIM_BORGLETS_NAME, roles: ['borglet'] as Role[] }] : []),
    ...config.admins.map((a) => ({ commonName: a, roles: ['user', 'admin'] as Role[] })),
    ...users.filter((u) => !config.admins.includes(u)).map((u) => ({ commonName: u, roles: ['user'] as Role[] })),
  ];
}

async function exists(p: string): Promise<boolean> {
  return access(p).then(
    () => true,
    () => false,
  );
}

/** prepareIdentities makes the CA if needed and issues every missing certificate. Not safe to run concurrently. */
export async function prepareIdentities(config: CellConfig, identities: readonly Identity[]): Promise<void> {
  const ca = await ensureCellCa(config.security.caDir, config.name);
  const dir = certDir(config);
  for (const id of identities) {
    if (!(await exists(join(dir, `${id.commonName}.crt`)))) await issueCert(ca, id.commonName, id.roles, dir);
  }
}

/** loadIdentity reads a certificate issued by prepareIdentities. */
export async function loadIdentity(config: CellConfig, commonName: string): Promise<TlsMaterial> {
  const c = await loadCert(certDir(config), commonName);
  return { certPem: c.certPem, keyPem: c.keyPem, caPem: c.caPem };
}
