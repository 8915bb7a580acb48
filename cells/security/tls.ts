// Mutual TLS for every gRPC link of a cell: server credentials that require a client certificate signed by the
// cell CA, client credentials that present one, and peerIdentity(), which reads who is calling from the TLS
// socket's verified peer certificate (grpc-js getAuthContext), never from anything the caller merely says.
import { ChannelCredentials, ServerCredentials, credentials } from '@grpc/grpc-js';
import type { PeerCertificate } from 'node:tls';
import { BorgError } from '../../model/errors';
import { ROLES, type Role } from './cell_ca';

export interface TlsMaterial {
  certPem: Buffer;
  keyPem: Buffer;
  caPem: Buffer;
}

/** serverCredentials: TLS with the cell CA as the only trust root, client certificates required and checked. */
export function serverCredentials(m: TlsMaterial): ServerCredentials {
  return ServerCredentials.createSsl(m.caPem, [{ private_key: m.keyPem, cert_chain: m.certPem }], true);
}

/** clientCredentials: trust only the cell CA and present our own certificate. */
export function clientCredentials(m: TlsMaterial): ChannelCredentials {
  return credentials.createSsl(m.caPem, m.keyPem, m.certPem);
}

export interface PeerIdentity {
  /** commonName: the user, replica, scheduler or machine name. */
  commonName: string;
  roles: Role[];
}

/** Unauthenticated: the call came without a verified client certificate. */
export class Unauthenticated extends BorgError {
  override name = 'Unauthenticated';
  constructor(message: string) {
    super('unauthenticated', message);
  }
}

/** The part of a grpc-js server call we need; every server call type has it. */
export interface CallWithAuth {
  getAuthContext(): { transportSecurityType?: string; sslPeerCertificate?: PeerCertificate } | null;
}

function values(v: string | string[] | undefined): string[] {
  if (v === undefined) return [];
  return Array.isArray(v) ? v : [v];
}

/** identityOfCertificate reads the common name and roles (organisational units) of a verified certificate. */
export function identityOfCertificate(cert: PeerCertificate): PeerIdentity {
  const subject = cert.subject as unknown as Record<string, string | string[] | undefined>;
  const cns = values(subject.CN);
  const cn = cns[0];
  if (cns.length !== 1 || cn === undefined || cn === '') throw new Unauthenticated('client certificate must have exactly one common name');
  const roles = values(subject.OU).filter((r): r is Role => (ROLES as readonly string[]).includes(r));
  return { commonName: cn, roles };
}

/** peerIdentity is the verified identity of the caller; Unauthenticated when there is none. */
export function peerIdentity(call: CallWithAuth): PeerIdentity {
  const ctx = call.getAuthContext();
  const cert = ctx?.sslPeerCertificate;
  if (ctx?.transportSecurityType !== 'ssl' || cert === undefined) throw new Unauthenticated('a client certificate signed by the cell CA is required');
  return identityOfCertificate(cert);
}
