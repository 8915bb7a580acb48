// The CLI user's certificate: users are identified by the common name of their client certificate (DESIGN.md
// §10), kept where cells/identity.ts puts them (<caDir>/certs/<user>.{crt,key}). On a local cell the CLI may
// hold the CA key itself; then a missing user certificate is issued on the spot, the way `borg up` would.
import { constants } from 'node:fs';
import { access, mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { CellConfig } from '../../cells/config';
import { certDir, loadIdentity } from '../../cells/identity';
import { BorgError } from '../../model/errors';
import { ensureCellCa, issueCert, validateCommonName, type Role, type TlsMaterial } from '../../cells/security/index';

async function readable(p: string): Promise<boolean> {
  return access(p, constants.R_OK).then(
    () => true,
    () => false,
  );
}

export interface UserCredentials {
  tls: TlsMaterial;
  /** issued: the certificate did not exist and was made now from the cell's CA key. */
  issued: boolean;
}

/**
 * userCredentials loads `user`'s certificate for the cell, or issues one when it is missing and the CA key is
 * readable (roles `user`, plus `admin` for the cell's configured admins). Without a certificate and without the
 * CA key it refuses, naming the directory: a cell that was never brought up here is unreachable (4); a cell
 * whose CA key we may not read is a refusal (3).
 */
export async function userCredentials(config: CellConfig, user: string): Promise<UserCredentials> {
  validateCommonName(user, '--user');
  const dir = certDir(config);
  if (await readable(join(dir, `${user}.crt`))) return { tls: await loadIdentity(config, user), issued: false };
  const caDir = config.security.caDir;
  const haveCa = await readable(join(caDir, 'ca.crt'));
  if (!haveCa) {
    throw new BorgError('unavailable', `cell ${config.name} has no CA in ${caDir}: it was never brought up on this host (start it with borg up, or point --cell at its config)`);
  }
  if (!(await readable(join(caDir, 'ca.key')))) {
    throw new BorgError('failed_precondition', `no certificate for user ${user} in ${dir}, and the CA key of cell ${config.name} is not readable to issue one; ask the cell's admin for a certificate`);
  }
  const ca = await ensureCellCa(caDir, config.name);
  const roles: Role[] = config.admins.includes(user) ? ['user', 'admin'] : ['user'];
  // Issue into a private directory and rename into place, key first: the certificate's presence is what says
  // "issued", so a concurrent reader never sees a certificate without its key.
  const tmp = await mkdtemp(join(caDir, `.issue-${user}-`));
  try {
    const c = await issueCert(ca, user, roles, tmp);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await rename(c.keyPath, join(dir, `${user}.key`));
    await rename(c.certPath, join(dir, `${user}.crt`));
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return { tls: await loadIdentity(config, user), issued: true };
}
