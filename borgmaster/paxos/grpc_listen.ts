// listenNoDelay serves a grpc-js Server from our own TCP listener with TCP_NODELAY on every accepted socket.
// grpc-js sets it on the sockets it dials but its server never does (it builds node's http2 server without
// `noDelay`), so Nagle's algorithm holds a small response back until the previous one is acknowledged, and
// against a client's delayed ACK that costs up to 40 ms (Go's net package, which etcd uses, disables Nagle on
// every connection). Connections enter grpc-js through its public createConnectionInjector. Optionally it also
// widens the HTTP/2 flow-control windows of those connections, which grpc-js's server has no option for.
import { EventEmitter } from 'node:events';
import type { Http2Session } from 'node:http2';
import { createServer, type Socket } from 'node:net';
import type { Server, ServerCredentials } from '@grpc/grpc-js';
import { assert } from '../../model/assert';
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

export interface ListenOptions {
  /**
   * windowBytes, when set, is the HTTP/2 receive window (per connection and per stream) advertised on every
   * connection, instead of node's 64 KiB: a peer then sends a message larger than 64 KiB without waiting mid-way
   * for a WINDOW_UPDATE round trip (each of which needs both event loops to run).
   */
  windowBytes?: number;
}

/**
 * http2ServerBehind returns the node http2 server behind the connection injector just created on server. grpc-js
 * keeps it in its private `http2Servers` map (the newest entry); it reads 'grpc-node.flow_control_window' only for
 * its clients, so this is the one way to set a server's windows. Undefined if grpc-js no longer has that shape.
 */
function http2ServerBehind(server: Server): EventEmitter | undefined {
  const servers: unknown = Reflect.get(server, 'http2Servers');
  if (!(servers instanceof Map)) return undefined;
  let newest: unknown;
  for (const k of servers.keys()) newest = k;
  return newest instanceof EventEmitter ? newest : undefined;
}

/** assertWindowBytes: an HTTP/2 receive window is at least the protocol's default and at most 2^31-1 (RFC 9113). */
export function assertWindowBytes(windowBytes: number | undefined): void {
  assert(windowBytes === undefined || (Number.isSafeInteger(windowBytes) && windowBytes >= 65_535 && windowBytes <= 2 ** 31 - 1), `HTTP/2 window ${windowBytes}`);
}

/** widenWindows sets session's receive windows: the connection's now, every stream's by a SETTINGS frame. */
export function widenWindows(session: Http2Session, windowBytes: number): void {
  session.setLocalWindowSize(windowBytes);
  session.settings({ initialWindowSize: windowBytes });
}

/** listenNoDelay accepts connections on address (host:port) for server, with Nagle off; services must be added first. */
export async function listenNoDelay(server: Server, address: string, credentials: ServerCredentials, options: ListenOptions = {}): Promise<GrpcListener> {
  const { host, port } = splitHostPort(address);
  const { windowBytes } = options;
  assertWindowBytes(windowBytes);
  const injector = server.createConnectionInjector(credentials);
  if (windowBytes !== undefined) {
    const http2 = http2ServerBehind(server);
    // Without it the server still serves, with node's default windows (slower for large messages, not wrong).
    if (http2 === undefined) process.emitWarning('grpc-js internals changed: peer connections keep 64 KiB HTTP/2 windows', { code: 'BORG_GRPC_WINDOW' });
    else http2.on('session', (session: Http2Session) => widenWindows(session, windowBytes));
  }
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
