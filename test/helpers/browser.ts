/**
 * Debian's chromium (never a browser downloaded by npm), driven by playwright-core, and a page
 * server on its own origin so every polysocket request is cross-origin, as in production.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** `proxy`: a forward proxy every request goes through, loopback ones too (as a corporate proxy takes them). */
export function launchChromium(o: { proxy?: string } = {}): Promise<Browser> {
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
      ...(o.proxy ? [`--proxy-server=${o.proxy}`, '--proxy-bypass-list=<-loopback>'] : []),
    ],
  });
}

export interface PageServer {
  origin: string;
  /** registers a page at `path` and returns its URL */
  page(path: string, html: string): string;
  /** registers a page at a fresh path and returns its URL */
  serve(html: string): string;
  close(): Promise<void>;
}

/** Puts `prelude` before a page's own markup (after its doctype, which must stay first). */
function withPrelude(html: string, prelude: string): string {
  if (!prelude) return html;
  const doctype = /^\s*<!doctype[^>]*>/i.exec(html);
  return doctype ? doctype[0] + prelude + html.slice(doctype[0].length) : prelude + html;
}

/**
 * `prelude`: markup every page starts with, for an engine that cannot run a script before a
 * page's own itself (an Engine's `prelude`, test/helpers/engines).
 */
export async function startPageServer(o: { prelude?: string } = {}): Promise<PageServer> {
  const pages = new Map<string, string>();
  const server = http.createServer((req, res) => {
    const p = (req.url ?? '/').split('?')[0];
    const html = pages.get(p);
    if (html === undefined) {
      res.statusCode = 404;
      res.end();
      return;
    }
    res.setHeader('Content-Type', 'text/html; charset=utf-8');
    res.end(withPrelude(html, o.prelude ?? ''));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const origin = `http://localhost:${(server.address() as AddressInfo).port}`;
  const page = (p: string, html: string) => {
    pages.set(p, html);
    return origin + p;
  };
  let served = 0;
  return {
    origin,
    page,
    serve: (html) => page(`/p${++served}.html`, html),
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
