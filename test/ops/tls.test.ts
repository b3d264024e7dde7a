/**
 * TLS on the public port, for the browsers polysocket exists for. `openssl s_client` speaks as IE 8
 * on Windows 7 does (TLS 1.0, AES128-SHA, no SNI); a Node client pinned to the same speaks the whole
 * wire; SIGHUP swaps the certificate under open sockets. Certificates are made here, with openssl.
 */
import { execFileSync, spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, renameSync } from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { type RoleProcess, spawnRole } from '../harness/processes';
import { allInOne, REDIS_URL, uniquePrefix } from '../helpers/services';
import { startUpstream, type Upstream } from '../helpers/upstream';
import { parseAnswer, qs } from '../helpers/wire';

const dir = mkdtempSync(path.join(os.tmpdir(), 'ps-tls-'));

/** A self-signed RSA certificate for localhost, *.localhost and 127.0.0.1. */
function makeCertificate(name: string): { cert: string; key: string } {
  const cert = path.join(dir, `${name}.crt`);
  const key = path.join(dir, `${name}.key`);
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '2',
      '-subj',
      `/CN=${name}`,
      '-addext',
      'subjectAltName=DNS:localhost,DNS:*.localhost,IP:127.0.0.1',
      '-keyout',
      key,
      '-out',
      cert,
    ],
    { stdio: 'ignore' },
  );
  return { cert, key };
}

/** Runs openssl s_client with `args`, sends one HTTP/1.0 request for `path`; resolves with all it printed. */
function sClient(port: number, args: string[], requestPath = '/polysocket.js'): Promise<string> {
  return new Promise((resolve) => {
    const child = spawn('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-quiet', '-ign_eof', ...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.stdin.end(`GET ${requestPath} HTTP/1.0\r\nHost: localhost\r\n\r\n`);
    const timer = setTimeout(() => child.kill(), 15_000);
    child.on('exit', () => {
      clearTimeout(timer);
      resolve(out);
    });
  });
}

const IE8_ON_WINDOWS_7 = ['-tls1', '-cipher', 'AES128-SHA:@SECLEVEL=0', '-noservername'];
const TLS13 = ['-tls1_3'];

let up: Upstream;
const first = makeCertificate('first');
beforeAll(async () => {
  up = await startUpstream();
});
afterAll(() => up.close());

describe('profiles', () => {
  test('legacy: a TLS 1.0, AES128-SHA, no-SNI handshake fetches /polysocket.js; TLS 1.3 works too', async () => {
    const svc = await allInOne({ TLS_CERT_FILE: first.cert, TLS_KEY_FILE: first.key, TLS_PROFILE: 'legacy' });
    try {
      const ie8 = await sClient(svc.port, IE8_ON_WINDOWS_7);
      expect(ie8).toMatch(/^HTTP\/1\.1 200 OK/m);
      expect(ie8).toContain('polysocket.js');
      expect(await sClient(svc.port, TLS13)).toMatch(/^HTTP\/1\.1 200 OK/m);
      // the forward-secret suite IE 7-10 on Windows 7 prefer, over TLS 1.0
      expect(await sClient(svc.port, ['-tls1', '-cipher', 'ECDHE-RSA-AES128-SHA:@SECLEVEL=0'])).toMatch(/^HTTP\/1\.1 200 OK/m);
    } finally {
      await svc.close();
    }
  });

  test('modern: the same TLS 1.0 handshake is refused; TLS 1.3 works', async () => {
    const svc = await allInOne({ TLS_CERT_FILE: first.cert, TLS_KEY_FILE: first.key });
    try {
      const ie8 = await sClient(svc.port, IE8_ON_WINDOWS_7);
      expect(ie8).not.toMatch(/HTTP\/1\.1 200/);
      expect(ie8).toMatch(/alert|handshake failure|no protocols available|wrong version/i);
      expect(await sClient(svc.port, TLS13)).toMatch(/^HTTP\/1\.1 200 OK/m);
    } finally {
      await svc.close();
    }
  });

  test('a missing certificate file stops the process with one line naming it', async () => {
    const { execFile } = await import('node:child_process');
    const { CLI } = await import('../harness/processes');
    const stderr = await new Promise<string>((resolve) =>
      execFile(
        process.execPath,
        [CLI, 'start'],
        { env: { PATH: process.env.PATH, PORT: '0', TLS_CERT_FILE: '/nonexistent.crt', TLS_KEY_FILE: first.key } },
        (_e, _o, err) => resolve(err),
      ),
    );
    expect(stderr.trim().split('\n')).toEqual(['polysocket: bad_parameter: TLS_CERT_FILE=/nonexistent.crt cannot be read (ENOENT)']);
  });
});

/** One HTTPS request pinned to TLS 1.0 and AES128-SHA, as IE 8 would make it (no SNI: an IP address). */
function ie8Request(url: string, o: { method?: string; body?: string } = {}) {
  const u = new URL(url);
  return new Promise<ReturnType<typeof parseAnswer> & { protocol: string; cipher: string }>((resolve, reject) => {
    const req = https.request(
      {
        host: '127.0.0.1',
        port: u.port,
        path: u.pathname + u.search,
        method: o.method ?? 'GET',
        headers: { Host: u.host, ...(o.body ? { 'Content-Type': 'application/x-www-form-urlencoded' } : {}) },
        minVersion: 'TLSv1',
        maxVersion: 'TLSv1',
        ciphers: 'AES128-SHA:@SECLEVEL=0',
        ca: readFileSync(first.cert),
        // no SNI, as IE 8 on XP; the chain is verified against the test CA, but Node will not match a
        // one-label wildcard (*.localhost) to the per-socket host, so the name check is skipped here
        servername: '',
        checkServerIdentity: () => undefined,
        agent: false,
      },
      (res) => {
        let text = '';
        res.on('data', (d) => (text += d));
        res.on('end', () => {
          const socket = res.socket as tls.TLSSocket;
          resolve({
            ...parseAnswer(res.statusCode ?? 0, res.headers, text),
            protocol: socket.getProtocol() ?? '',
            cipher: socket.getCipher().name,
          });
        });
      },
    );
    req.on('error', reject);
    req.end(o.body);
  });
}

test('a whole socket (create, send, poll, close) through a legacy router and relay over TLS 1.0 with AES128-SHA', async () => {
  const prefix = uniquePrefix('tls');
  const env = {
    REDIS_URL,
    STORE_PREFIX: prefix,
    TLS_CERT_FILE: first.cert,
    TLS_KEY_FILE: first.key,
    TLS_PROFILE: 'legacy',
    ALLOW_TARGETS: '127.0.0.1',
    AUTH: 'none',
  };
  const relay = await spawnRole('relay', env);
  const router = await spawnRole('router', env);
  try {
    expect(relay.logs.some((l) => l.event === 'tls_legacy_profile' && l.level === 'warn')).toBe(true);
    const created = await ie8Request(`https://localhost:${router.port}/create?${qs({ cb: 'c', target: up.url })}`);
    expect({ protocol: created.protocol, cipher: created.cipher }).toEqual({ protocol: 'TLSv1', cipher: 'AES128-SHA' });
    const s = created.body;
    expect(s).toMatchObject({ ok: true });
    expect(s.url).toMatch(/^https:\/\//);
    const sent = await ie8Request(`${s.url}/s/${s.socket}`, { method: 'POST', body: qs({ d: 'over TLS 1.0', n: 1 }) });
    expect(sent.body).toEqual({ ok: true, n: 1 });
    const polled = await ie8Request(`${s.url}/j/${s.socket}?${qs({ cb: 'p', ack: 0, ttl: 10_000 })}`);
    expect(polled.body.messages).toEqual([{ type: 'text', seq: 1, data: 'over TLS 1.0' }]);
    await ie8Request(`${s.url}/s/${s.socket}?${qs({ cb: 's', t: 'c', code: 1000, n: 2 })}`);
    await up.closedCount(1);
  } finally {
    await relay.kill('SIGKILL');
    await router.kill('SIGKILL');
  }
});

test('SIGHUP with a new certificate: new handshakes get it, open sockets keep working', async () => {
  const certFile = path.join(dir, 'live.crt');
  const keyFile = path.join(dir, 'live.key');
  const install = (c: { cert: string; key: string }) => {
    renameSync(c.cert, certFile);
    renameSync(c.key, keyFile);
  };
  install(makeCertificate('before-renewal'));
  let svc: RoleProcess | undefined;
  const served = (port: number) =>
    new Promise<string>((resolve, reject) => {
      const socket = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
        resolve(new X509Certificate(socket.getPeerCertificate(true).raw).subject);
        socket.end();
      });
      socket.on('error', reject);
    });
  try {
    svc = await spawnRole('start', { TLS_CERT_FILE: certFile, TLS_KEY_FILE: keyFile, ALLOW_TARGETS: '127.0.0.1', AUTH: 'none' });
    expect(await served(svc.port)).toBe('CN=before-renewal');
    const agent = new https.Agent({ keepAlive: true, rejectUnauthorized: false });
    const get = (url: string) =>
      new Promise<any>((resolve, reject) =>
        https
          .get(url.replace('//localhost', '//127.0.0.1').replace(/\/\/u[0-9a-f]+\.localhost/, '//127.0.0.1'), { agent }, (res) => {
            let t = '';
            res.on('data', (d) => (t += d));
            res.on('end', () => resolve(JSON.parse(t)));
          })
          .on('error', reject),
      );
    const s = await get(`https://localhost:${svc.port}/create?${qs({ target: up.url })}`);
    expect(s.ok).toBe(true);

    install(makeCertificate('after-renewal'));
    svc.child.kill('SIGHUP');
    const { until } = await import('../harness/until');
    await until(() => svc!.logs.some((l) => l.event === 'tls_reloaded'), 10_000, 'the reload logged');
    expect(await served(svc.port)).toBe('CN=after-renewal');
    // the socket opened before the renewal (and its kept-alive connection) carries on
    expect(await get(`${s.url}/s/${s.socket}?${qs({ d: 'after renewal', n: 1 })}`)).toEqual({ ok: true, n: 1 });
    expect((await get(`${s.url}/j/${s.socket}?${qs({ ack: 0, ttl: 10_000 })}`)).messages).toEqual([
      { type: 'text', seq: 1, data: 'after renewal' },
    ]);
    agent.destroy();
  } finally {
    await svc?.kill('SIGKILL');
  }
});
