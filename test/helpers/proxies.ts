/**
 * Forward proxies a browser is pointed at, as corporate networks put them in front of pages:
 * Debian's squid with a config of the test's own (its own port and files, never the system
 * service), and two small proxies for behaviours squid will not show on demand — one that holds a
 * CONNECT open and silent, one that releases each response only once it is complete.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../harness/processes';
import { until } from '../harness/until';

export interface ForwardProxy {
  /** for --proxy-server */
  url: string;
  port: number;
  /** CONNECT requests seen, as host:port */
  connects(): string[];
  /**
   * WebSocket handshakes asked of the proxy itself, as host:port: an absolute-form `GET ws://…`
   * with its Upgrade, which is how WebKit sends a ws: socket through an HTTP proxy (Chromium and
   * Gecko send a CONNECT).
   */
  upgrades(): string[];
  close(): Promise<void>;
}

export interface Squid extends ForwardProxy {
  /** access.log lines so far: one per request, with squid's result code (TCP_MISS, TCP_HIT, TCP_DENIED, …) */
  accessLog(): string[];
}

export const SQUID = process.env.SQUID_PATH ?? '/usr/sbin/squid';

/**
 * squid on a free loopback port. `connect`: 'ssl-ports' is Debian's default rule (CONNECT only to
 * 443, so a WebSocket to any other port is refused), 'any' lets every CONNECT through.
 * `cache`: `cache allow all`, so any answer squid may keep, it keeps.
 */
export async function startSquid(o: { connect: 'ssl-ports' | 'any'; cache?: boolean }): Promise<Squid> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ps-squid-'));
  chmodSync(dir, 0o777); // squid drops root for its own user, which writes its logs here
  const port = await freePort();
  const access = path.join(dir, 'access.log');
  writeFileSync(
    path.join(dir, 'squid.conf'),
    [
      `http_port 127.0.0.1:${port}`,
      `pid_filename ${path.join(dir, 'squid.pid')}`,
      `access_log stdio:${access}`,
      `cache_log ${path.join(dir, 'cache.log')}`,
      'cache_store_log none',
      `coredump_dir ${dir}`,
      'logfile_rotate 0',
      'shutdown_lifetime 0 seconds',
      'dns_v4_first on',
      'acl SSL_ports port 443',
      'acl CONNECT method CONNECT',
      ...(o.connect === 'ssl-ports' ? ['http_access deny CONNECT !SSL_ports'] : []),
      'http_access allow all',
      o.cache ? 'cache allow all' : 'cache deny all',
      'cache_mem 16 MB',
      // keep what it may for as long as it may: a page's poll must still never come from here
      ...(o.cache ? ['refresh_pattern . 60 100% 600 override-expire ignore-reload'] : []),
      '',
    ].join('\n'),
  );
  const child: ChildProcess = spawn(SQUID, ['-N', '-f', path.join(dir, 'squid.conf')], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    child.kill('SIGKILL');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await until(() => listening(port), 30_000, `squid on ${port}`);
  } catch (err) {
    await stop();
    throw err;
  }
  const accessLog = () => {
    try {
      return readFileSync(access, 'utf8').split('\n').filter(Boolean);
    } catch {
      return [];
    }
  };
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    accessLog,
    connects: () =>
      accessLog()
        .filter((l) => / CONNECT /.test(l))
        .map((l) => / CONNECT (\S+)/.exec(l)![1]),
    // squid answers these 501 (it proxies no ws: URL) and logs them with the URL as asked
    upgrades: () =>
      accessLog()
        .filter((l) => / GET ws:\/\//.test(l))
        .map((l) => / GET ws:\/\/([^/\s]+)/.exec(l)![1]),
    close: stop,
  };
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/**
 * A forward proxy of our own. `onConnect`: 'hold' answers a CONNECT never (the upgrade hangs, as
 * behind a proxy that inspects and stalls it); 'refuse' answers 403. A WebSocket handshake sent
 * to the proxy itself (WebKit's `GET ws://…`) is held or refused the same way. `buffer`: each
 * response is released only when it is complete (as some antivirus and enterprise proxies do).
 */
export async function startTestProxy(o: { onConnect: 'hold' | 'refuse'; buffer?: boolean }): Promise<ForwardProxy> {
  const connects: string[] = [];
  const upgrades: string[] = [];
  const held = new Set<net.Socket>();
  const server = http.createServer((req, res) => {
    const target = new URL(req.url ?? '');
    const out = http.request(
      { host: target.hostname, port: target.port, path: target.pathname + target.search, method: req.method, headers: req.headers },
      (answer) => {
        if (!o.buffer) {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
          return;
        }
        const chunks: Buffer[] = [];
        answer.on('data', (c: Buffer) => chunks.push(c));
        answer.on('end', () => {
          const body = Buffer.concat(chunks);
          const headers = { ...answer.headers, 'content-length': String(body.length) };
          delete headers['transfer-encoding'];
          res.writeHead(answer.statusCode ?? 502, headers);
          res.end(body);
        });
      },
    );
    out.on('error', () => {
      res.statusCode = 502;
      res.end();
    });
    req.pipe(out);
  });
  const holdOrRefuse = (socket: net.Socket) => {
    socket.on('error', () => socket.destroy());
    if (o.onConnect === 'refuse') {
      socket.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    held.add(socket);
    socket.on('close', () => held.delete(socket));
  };
  server.on('connect', (req: http.IncomingMessage, socket: net.Socket) => {
    connects.push(req.url ?? '');
    holdOrRefuse(socket);
  });
  server.on('upgrade', (req: http.IncomingMessage, socket: net.Socket) => {
    upgrades.push(URL.canParse(req.url ?? '') ? new URL(req.url ?? '').host : (req.headers.host ?? ''));
    holdOrRefuse(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    connects: () => connects.slice(),
    upgrades: () => upgrades.slice(),
    close: () =>
      new Promise((resolve) => {
        for (const s of held) s.destroy();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
