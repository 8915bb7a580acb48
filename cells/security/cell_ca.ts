// The per-cell certificate authority (DESIGN.md §10), made and used with the openssl CLI: every replica,
// scheduler, Borglet and user gets a certificate signed by its cell's CA; the subject's common name is the
// identity (a user name, a machine name, `replica-1`) and its organisational units are the roles. Keys are P-256
// and never leave the directory they were made in (mode 0600). This file is an IO edge: it runs processes and
// touches the disk, and nothing that decides calls it.
import { execFile } from 'node:child_process';
import { chmod, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { BorgError, InvalidArgument } from '../../model/errors';
import { MACHINE_NAME_PATTERN, validateName } from '../../model/ids';

const run = promisify(execFile);

export const ROLES = ['replica', 'scheduler', 'borglet', 'user', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export interface CellCa {
  cell: string;
  dir: string;
  certPath: string;
  keyPath: string;
  /** certPem is the CA certificate every peer of the cell trusts. */
  certPem: Buffer;
}

export interface IssuedCert {
  commonName: string;
  roles: Role[];
  certPath: string;
  keyPath: string;
  caPath: string;
  certPem: Buffer;
  keyPem: Buffer;
  caPem: Buffer;
}

const CA_DAYS = 3650;
const CERT_DAYS = 825;

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch (e: unknown) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
}

async function openssl(args: string[], cwd: string): Promise<void> {
  try {
    await run('openssl', args, { cwd, timeout: 30_000 });
  } catch (e: unknown) {
    const err = e as { stderr?: string; message?: string; code?: string };
    if (err.code === 'ENOENT') throw new BorgError('failed_precondition', 'openssl is not installed (apt-get install openssl)', { cause: e });
    throw new BorgError('internal', `openssl ${args[0]} failed: ${(err.stderr ?? err.message ?? String(e)).trim()}`, { cause: e });
  }
}

/**
 * mkdirPrivate makes `dir` readable by its owner only. Its parents are made with the default mode: a recursive
 * mkdir with a mode gives it to every directory it creates, and a local cell's `.borg/CELL` made private that way
 * shut its tasks (running as nobody) out of their working directories beneath it.
 */
async function mkdirPrivate(dir: string): Promise<void> {
  await mkdir(dirname(dir), { recursive: true });
  await mkdir(dir, { recursive: true, mode: 0o700 });
}

/** ensureCellCa loads the CA kept in `dir`, or makes one for `cell` when there is none. */
export async function ensureCellCa(dir: string, cell: string): Promise<CellCa> {
  validateName(cell, 'cell');
  await mkdirPrivate(dir);
  const certPath = join(dir, 'ca.crt');
  const keyPath = join(dir, 'ca.key');
  const haveCert = await exists(certPath);
  const haveKey = await exists(keyPath);
  if (haveCert !== haveKey) throw new BorgError('failed_precondition', `CA directory ${dir} has ${haveCert ? 'ca.crt without ca.key' : 'ca.key without ca.crt'}; refusing to guess`);
  if (!haveCert) {
    const ext = join(dir, 'ca.ext.cnf');
    await writeFile(ext, '[ca]\nbasicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\n');
    try {
      await openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'ca.key'], dir);
      await chmod(keyPath, 0o600);
      await openssl(
        ['req', '-x509', '-new', '-key', 'ca.key', '-sha256', '-days', String(CA_DAYS), '-subj', `/O=borg/OU=ca/CN=borg-${cell}-ca`, '-config', 'ca.ext.cnf', '-extensions', 'ca', '-out', 'ca.crt'],
        dir,
      );
    } catch (e: unknown) {
      await rm(keyPath, { force: true });
      await rm(certPath, { force: true });
      throw e;
    } finally {
      await rm(ext, { force: true });
    }
  }
  return { cell, dir, certPath, keyPath, certPem: await readFile(certPath) };
}

export function validateCommonName(cn: unknown, field = 'commonName'): string {
  if (typeof cn !== 'string' || cn === '') throw new InvalidArgument(field, 'is required');
  // Names of users, replicas and machines; the pattern also keeps `/` and `=` out of the openssl subject.
  if (!MACHINE_NAME_PATTERN.test(cn)) throw new InvalidArgument(field, `${JSON.stringify(cn)} is not a valid identity (up to 63 of a-z 0-9 _ . -)`);
  return cn;
}

/**
 * issueCert makes a key and a certificate for `commonName` with `roles`, signed by the cell CA, in `dir`
 * (`<cn>.key`, `<cn>.crt`, and `ca.crt`). The certificate is good for both ends of a TLS link (serverAuth and
 * clientAuth) and names 127.0.0.1, ::1 and localhost plus any `hosts` given.
 */
export async function issueCert(ca: CellCa, commonName: string, roles: readonly Role[], dir: string, hosts: readonly string[] = []): Promise<IssuedCert> {
  validateCommonName(commonName);
  if (roles.length === 0) throw new InvalidArgument('roles', 'at least one role is required');
  roles.forEach((r, i) => {
    if (!ROLES.includes(r)) throw new InvalidArgument(`roles[${i}]`, `must be one of ${ROLES.join(', ')}`);
  });
  hosts.forEach((h, i) => {
    if (!/^[A-Za-z0-9.:-]{1,253}$/.test(h)) throw new InvalidArgument(`hosts[${i}]`, `${JSON.stringify(h)} is not a host name or address`);
  });
  await mkdirPrivate(dir);
  const keyPath = join(dir, `${commonName}.key`);
  const certPath = join(dir, `${commonName}.crt`);
  const csrPath = join(dir, `${commonName}.csr`);
  const extPath = join(dir, `${commonName}.ext.cnf`);
  const caPath = join(dir, 'ca.crt');
  const san = ['IP:127.0.0.1', 'IP:::1', 'DNS:localhost', ...hosts.map((h) => (/^[0-9.]+$|:/.test(h) ? `IP:${h}` : `DNS:${h}`))];
  await writeFile(
    extPath,
    `[leaf]\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=${san.join(',')}\n`,
  );
  const subject = `/O=borg/${roles.map((r) => `OU=${r}/`).join('')}CN=${commonName}`;
  try {
    await openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', keyPath], dir);
    await chmod(keyPath, 0o600);
    await openssl(['req', '-new', '-key', keyPath, '-subj', subject, '-out', csrPath], dir);
    await openssl(
      ['x509', '-req', '-in', csrPath, '-CA', ca.certPath, '-CAkey', ca.keyPath, '-CAcreateserial', '-sha256', '-days', String(CERT_DAYS), '-extfile', extPath, '-extensions', 'leaf', '-out', certPath],
      dir,
    );
  } finally {
    await rm(csrPath, { force: true });
    await rm(extPath, { force: true });
  }
  if (caPath !== ca.certPath) await writeFile(caPath, ca.certPem);
  return { commonName, roles: [...roles], certPath, keyPath, caPath, certPem: await readFile(certPath), keyPem: await readFile(keyPath), caPem: ca.certPem };
}

/** loadCert reads a certificate issued earlier into `dir`. */
export async function loadCert(dir: string, commonName: string): Promise<Pick<IssuedCert, 'certPem' | 'keyPem' | 'caPem' | 'commonName'>> {
  validateCommonName(commonName);
  return {
    commonName,
    certPem: await readFile(join(dir, `${commonName}.crt`)),
    keyPem: await readFile(join(dir, `${commonName}.key`)),
    caPem: await readFile(join(dir, 'ca.crt')),
  };
}
