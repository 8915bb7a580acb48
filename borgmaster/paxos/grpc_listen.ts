// listenNoDelay serves a grpc-js Server from our own TCP listener with TCP_NODELAY on every accepted socket.
// grpc-js sets it on the sockets it dials but its server never does (it builds node's http2 server without
// `noDelay`), so Nagle's algorithm holds a small response back until the previous one is acknowledged, and
// against a client's delayed ACK that costs up to 40 ms (Go's net package, which etcd uses, disables Nagle on
// every connection). Connections enter grpc-js through its public createConnectionInjector.
import { createServer, type Socket } from 'node:net';
import type { Server, ServerCredentials } from '@grpc/grpc-js';
import { InvalidArgument } from '../../model/errors';

export interface GrpcListener {
  /** port is the bound port (useful with port 0). */
  port: number;
  /** close stops accepting and closes every connection this listener handed to the gRPC server. */
  close(): Promise<void>;
}

/** splitHostPort parses "host:port" or "[v6]:port"; InvalidArgument names the address. */
export function splitHostPort(address: string): { host: string; port: number } {
  const i = address.lastIndexOf(':');
  const host = address.slice(0, i).replace(/^\[(.*)\]$/, '$1');
  const port = Number(address.slice(i + 1));
  if (i <= 0 || host === '' || !Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new InvalidArgument('address', `expected host:port, got ${JSON.stringify(address)}`);
  }
  return { host, port };
}

/** listenNoDelay accepts connections on address (host:port) for server, with Nagle off; services must be added first. */
export async function listenNoDelay(server: Server, address: string, credentials: ServerCredentials): Promise<GrpcListener> {
  const { host, port } = splitHostPort(address);
  const injector = server.createConnectionInjector(credentials);
  const sockets = new Set<Socket>();
  const tcp = createServer({ noDelay: true }, (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    injector.injectConnection(socket);
  });
  await new Promise<void>((resolve, reject) => {
    tcp.once('error', reject);
    tcp.listen({ host, port }, () => {
      tcp.off('error', reject);
      resolve();
    });
  });
  const bound = tcp.address();
  return {
    port: typeof bound === 'object' && bound !== null ? bound.port : port,
    close: () =>
      new Promise<void>((resolve) => {
        injector.destroy();
        for (const s of sockets) s.destroy();
        tcp.close(() => resolve());
      }),
  };
}
