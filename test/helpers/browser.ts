/**
 * Debian's chromium (never a browser downloaded by npm), driven by playwright-core, and a page
 * server on its own origin so every polysocket request is cross-origin, as in production.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { readFileSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

export interface PageServer {
  origin: string;
  /** registers a page at `path` and returns its URL */
  page(path: string, html: string): string;
  close(): Promise<void>;
}

/** Unmodified WebSocket libraries' browser bundles, served at /lib/<name>.js. */
const LIBRARIES: Record<string, string> = {
  mqtt: 'mqtt/dist/mqtt.min.js',
  'socket.io': 'socket.io-client/dist/socket.io.min.js',
  'graphql-ws': 'graphql-ws/umd/graphql-ws.min.js',
  stomp: '@stomp/stompjs/bundles/stomp.umd.min.js',
};
const NODE_MODULES = path.resolve(__dirname, '../../node_modules');

export async function startPageServer(): Promise<PageServer> {
  const pages = new Map<string, string>();
  const server = http.createServer((req, res) => {
    const p = (req.url ?? '/').split('?')[0];
    const lib = /^\/lib\/(.+)\.js$/.exec(p);
    if (lib && Object.hasOwn(LIBRARIES, lib[1])) {
      res.setHeader('Content-Type', 'application/javascript');
      res.end(readFileSync(path.join(NODE_MODULES, LIBRARIES[lib[1]])));
      return;
    }
    const html = pages.get(p);
    if (html === undefined) {
      res.statusCode = 404;
      res.end();
      return;
    }
    res.setHeader('Content-Type', 'text/html; charset=utf-8');
    res.end(html);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const origin = `http://localhost:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    page: (p, html) => {
      pages.set(p, html);
      return origin + p;
    },
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
