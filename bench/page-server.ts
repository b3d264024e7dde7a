/**
 * The pages the browser rows load: the peers' client libraries at /lib/<name>.js (from
 * node_modules, as a page would vendor them) and, at any other path, the page `html` builds.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { ROOT } from '../test/harness/processes';

const LIBS: Record<string, string> = {
  'socket.io': 'socket.io-client/dist/socket.io.min.js',
  sockjs: 'sockjs-client/dist/sockjs.min.js',
};

export interface BenchPages {
  /** http://localhost:<port>: another origin than the servers', as in production */
  origin: string;
  close(): void;
}

export async function startBenchPages(html: (url: URL) => string): Promise<BenchPages> {
  const server = http.createServer((req, res) => {
    const lib = /^\/lib\/(.+)\.js$/.exec(req.url ?? '');
    if (lib && Object.hasOwn(LIBS, lib[1])) {
      res.setHeader('Content-Type', 'application/javascript');
      res.end(readFileSync(path.join(ROOT, 'node_modules', LIBS[lib[1]])));
      return;
    }
    res.setHeader('Content-Type', 'text/html; charset=utf-8');
    res.setHeader('Cache-Control', 'no-store');
    res.end(html(new URL(req.url ?? '/', 'http://localhost')));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    origin: `http://localhost:${(server.address() as AddressInfo).port}`,
    close: () => {
      server.close();
      server.closeAllConnections();
    },
  };
}
