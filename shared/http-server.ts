/**
 * The HTTP servers every role listens with: request and header timeouts that fit long-polling
 * (a held poll is the server's wait, never the client's), a bound on open connections per client
 * address, and listen/close helpers that work on port 0.
 */
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { Config } from './config';
import { type TlsConfig, tlsOptions } from './tls';

export type ServerConfig = Pick<Config, 'requestTimeoutMs' | 'headersTimeoutMs' | 'maxConnectionsPerIp'> & Partial<TlsConfig>;

/** HTTP, or HTTPS with the TLS profile when a certificate is configured (https.Server is an http.Server). */
export function createServer(c: ServerConfig): http.Server {
  const tlsOn = c.tlsCertFile !== undefined;
  const make = tlsOn ? (o: http.ServerOptions) => https.createServer({ ...o, ...tlsOptions(c as TlsConfig) }) : http.createServer;
  const server = make({
    requestTimeout: c.requestTimeoutMs,
    headersTimeout: Math.min(c.headersTimeoutMs, c.requestTimeoutMs),
    // how often Node checks those two timeouts (its default, 30 s, would stretch a short timeout)
    connectionsCheckingInterval: Math.min(1000, c.headersTimeoutMs),
  });
  if (c.maxConnectionsPerIp > 0) boundConnectionsPerAddress(server, c.maxConnectionsPerIp);
  return server;
}

/** Connections over the bound are closed as they arrive, before a byte is read. */
function boundConnectionsPerAddress(server: http.Server, max: number): void {
  const open = new Map<string, number>();
  server.on('connection', (socket: Socket) => {
    const address = socket.remoteAddress ?? '';
    const n = (open.get(address) ?? 0) + 1;
    if (n > max) {
      socket.destroy();
      return;
    }
    open.set(address, n);
    socket.once('close', () => {
      const left = (open.get(address) ?? 1) - 1;
      if (left === 0) open.delete(address);
      else open.set(address, left);
    });
  });
}

/**
 * `backlog`: connections the kernel queues before they are accepted (capped by net.core.somaxconn).
 * Node's default, 511, is small for thousands of polls re-connecting at once: a full queue drops
 * SYNs, and a dropped SYN is retried after a second (docs/DEPLOY.md, sizing).
 */
export async function listen(server: http.Server, port: number, host: string, backlog = 511): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host, backlog }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}

export function closeServer(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/** SIGHUP: new handshakes get the certificate now on disk; open connections keep theirs. */
export function reloadCertificate(server: http.Server, c: TlsConfig): void {
  (server as https.Server).setSecureContext(tlsOptions(c));
}
