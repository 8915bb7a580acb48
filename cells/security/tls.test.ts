// Mutual TLS over real gRPC on loopback with a throwaway CA: the server learns the caller from its certificate;
// certificates from another cell's CA and calls without a client certificate are refused.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Server, credentials, makeGenericClientConstructor, type ServiceDefinition, type ServerUnaryCall, type sendUnaryData, type Client } from '@grpc/grpc-js';
import { ensureCellCa, issueCert, peerIdentity, serverCredentials, clientCredentials } from './index';
import { InvalidArgument } from '../../model/errors';

const dir = await mkdtemp(join(tmpdir(), 'borg-tls-test-'));
after(() => rm(dir, { recursive: true, force: true }));

const identity = (b: Buffer) => b;
const whoami: ServiceDefinition = {
  whoami: {
    path: '/test.Who/WhoAmI',
    requestStream: false,
    responseStream: false,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  },
};
type WhoClient = Client & { whoami(req: Buffer, cb: (err: Error | null, res?: Buffer) => void): void };
const WhoClientCtor = makeGenericClientConstructor(whoami, 'Who') as unknown as new (addr: string, creds: ReturnType<typeof credentials.createSsl>) => WhoClient;

function call(client: WhoClient): Promise<string> {
  return new Promise((resolve, reject) => {
    client.whoami(Buffer.alloc(0), (err, res) => (err ? reject(err) : resolve(String(res))));
  });
}

test('mutual TLS: identity from the client certificate; foreign CAs and anonymous clients are refused', async () => {
  const ca = await ensureCellCa(join(dir, 'ca'), 'test');
  const again = await ensureCellCa(join(dir, 'ca'), 'test');
  assert.ok(ca.certPem.equals(again.certPem), 'the CA is made once and then loaded');
  assert.equal((await stat(ca.keyPath)).mode & 0o777, 0o600);
  // Only the CA's own directory is private: the directories made on the way to it keep the default mode.
  const nested = join(dir, 'cell', 'state', 'ca');
  await ensureCellCa(nested, 'test');
  assert.equal((await stat(nested)).mode & 0o777, 0o700);
  assert.equal((await stat(join(dir, 'cell', 'state'))).mode & 0o005, 0o005, 'the cell state directory stays open to others');
  const server = await issueCert(ca, 'replica-1', ['replica'], join(dir, 'certs'));
  const alice = await issueCert(ca, 'alice', ['user'], join(dir, 'certs'));
  const root = await issueCert(ca, 'root', ['user', 'admin'], join(dir, 'certs'));
  const otherCa = await ensureCellCa(join(dir, 'other-ca'), 'other');
  const mallory = await issueCert(otherCa, 'alice', ['user', 'admin'], join(dir, 'other-certs'));
  await assert.rejects(issueCert(ca, 'bad/cn', ['user'], dir), InvalidArgument);
  await assert.rejects(issueCert(ca, 'x', [], dir), InvalidArgument);

  const srv = new Server();
  srv.addService(whoami, {
    whoami: (c: ServerUnaryCall<Buffer, Buffer>, cb: sendUnaryData<Buffer>) => {
      const who = peerIdentity(c);
      cb(null, Buffer.from(`${who.commonName}:${who.roles.join(',')}`));
    },
  });
  const port = await new Promise<number>((resolve, reject) => srv.bindAsync('127.0.0.1:0', serverCredentials(server), (e, p) => (e ? reject(e) : resolve(p))));
  const clients: WhoClient[] = [];
  const client = (creds: ReturnType<typeof credentials.createSsl>) => {
    const c = new WhoClientCtor(`127.0.0.1:${port}`, creds);
    clients.push(c);
    return c;
  };
  try {
    assert.equal(await call(client(clientCredentials(alice))), 'alice:user');
    assert.equal(await call(client(clientCredentials(root))), 'root:user,admin');
    await assert.rejects(call(client(clientCredentials(mallory))), /UNAVAILABLE|14/);
    await assert.rejects(call(client(credentials.createSsl(ca.certPem))), /UNAVAILABLE|14/);
  } finally {
    for (const c of clients) c.close();
    srv.forceShutdown();
  }
});
