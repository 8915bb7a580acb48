// The cell's security (DESIGN.md §10): a per-cell CA, certificates for replicas, schedulers, Borglets and users,
// mutual-TLS gRPC credentials, and the caller's identity from its verified client certificate.
export { ensureCellCa, issueCert, loadCert, validateCommonName, ROLES, type Role, type CellCa, type IssuedCert } from './cell_ca';
export { serverCredentials, clientCredentials, peerIdentity, identityOfCertificate, Unauthenticated, type PeerIdentity, type TlsMaterial, type CallWithAuth } from './tls';
