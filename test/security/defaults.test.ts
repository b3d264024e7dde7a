/**
 * Security round 2, defaults: what the all-in-one, AUTH=none, the demo and the secrets let an
 * attacker do out of the box. Every upstream listens on loopback: a refusal proves the policy.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import jwt from 'jsonwebtoken';
import { mintToken } from '../../router/token';
import { ConfigError, loadConfig } from '../../shared/config';
import { createLogger } from '../../shared/log';
import { CLI, ROOT } from '../harness/processes';
import { allInOne } from '../helpers/services';
import { startUpstream, type Upstream } from '../helpers/upstream';
import { collect, create, outcome, request, sendGet } from '../helpers/wire';

const SECRET = 'defaults-test-secret-0123456789abcdef0123456789';
let up: Upstream;
beforeAll(async () => {
  up = await startUpstream();
});
afterAll(() => up.close());

/** The token the demo page hands out, read off the page as a browser would get it. */
async function demoToken(base: string): Promise<string> {
  const page = await request(`${base}/`);
  const m = /"token":"([^"]+)"/.exec(page.text);
  if (!m) throw new Error('no token on the demo page');
  return m[1];
}

describe('targets of the all-in-one', () => {
  test('with no ALLOW_TARGETS, a token naming ws://localhost:* reaches the demo echo and nothing else of loopback', async () => {
    const svc = await allInOne({ AUTH: 'token', TOKEN_SECRET: SECRET, DEMO: 'true', ALLOW_TARGETS: '' });
    try {
      const token = mintToken(SECRET, { targets: ['ws://localhost:*'], allowNoOrigin: true });
      const echo = await create(svc.base, { target: `ws://localhost:${svc.port}/echo`, token });
      await sendGet(echo, { d: 'ping', n: 1 });
      expect((await collect(echo, 1)).messages[0].data).toBe('ping');
      expect(await outcome(create(svc.base, { target: `ws://localhost:${up.port}/`, token }))).toBe('target_forbidden_address');
      expect(await outcome(create(svc.base, { target: `ws://localhost:${svc.port}/other`, token }))).toBe('target_forbidden_address');
      expect(up.sockets.size).toBe(0);
    } finally {
      await svc.close();
    }
  });

  test('an ALLOW_TARGETS entry with a port opens that port only', async () => {
    const other = await startUpstream();
    const svc = await allInOne({ ALLOW_TARGETS: `localhost:${up.port}` });
    try {
      expect(await outcome(create(svc.base, { target: `ws://localhost:${up.port}/` }))).toBe('accepted');
      expect(await outcome(create(svc.base, { target: `ws://localhost:${other.port}/` }))).toBe('target_forbidden_address');
    } finally {
      await svc.close();
      await other.close();
    }
  });

  test('with AUTH=none, loopback stays refused unless ALLOW_TARGETS names it, and the process warns at start', async () => {
    const lines: string[] = [];
    const svc = await allInOne(
      { AUTH: 'none', ALLOW_TARGETS: '' },
      createLogger('info', {}, (l) => lines.push(l)),
    );
    try {
      expect(await outcome(create(svc.base, { target: `ws://localhost:${up.port}/` }))).toBe('target_forbidden_address');
      expect(await outcome(create(svc.base, { target: `ws://127.0.0.1:${up.port}/` }))).toBe('target_forbidden_address');
      expect(lines.map((l) => JSON.parse(l)).filter((l) => l.event === 'auth_none' && l.level === 'warn')).toHaveLength(1);
    } finally {
      await svc.close();
    }
  });

  test("the Dockerfile's default command is the all-in-one with tokens on, not AUTH=none", () => {
    const dockerfile = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/^CMD \["start"\]$/m);
    expect(dockerfile).not.toMatch(/AUTH=none/);
  });
});

describe('the demo token', () => {
  test("is signed with the demo's own key, lives minutes, holds a few sockets and names only the demo echo", async () => {
    const svc = await allInOne({ AUTH: 'token', TOKEN_SECRET: SECRET, DEMO: 'true', ALLOW_TARGETS: '' });
    try {
      const token = await demoToken(svc.base);
      expect(() => jwt.verify(token, SECRET)).toThrow(/invalid signature/);
      const { header, payload } = jwt.decode(token, { complete: true }) as { header: jwt.JwtHeader; payload: jwt.JwtPayload };
      expect(header.kid).toBe('polysocket-demo');
      expect(payload.exp! - payload.iat!).toBeLessThanOrEqual(600);
      expect(payload.max_sockets).toBeLessThanOrEqual(4);
      expect(payload.targets).toEqual([`ws://localhost:${svc.port}/echo`]);
      // and it works, for exactly that
      const origin = { Origin: `http://localhost:${svc.port}` };
      await create(svc.base, { target: `ws://localhost:${svc.port}/echo`, token }, origin);
      expect(await outcome(create(svc.base, { target: `ws://localhost:${up.port}/`, token }, origin))).toBe('target_not_allowed');
    } finally {
      await svc.close();
    }
  });

  test('still reaches its echo when the operator sets ALLOW_TARGETS for something else', async () => {
    const svc = await allInOne({ AUTH: 'token', ALLOW_TARGETS: '10.1.2.3' });
    try {
      const token = await demoToken(svc.base);
      const s = await create(svc.base, { target: `ws://localhost:${svc.port}/echo`, token }, { Origin: `http://localhost:${svc.port}` });
      await sendGet(s, { d: 'still here', n: 1 });
      expect((await collect(s, 1)).messages[0].data).toBe('still here');
    } finally {
      await svc.close();
    }
  });

  test('is minted per page view', async () => {
    const svc = await allInOne({ AUTH: 'token', ALLOW_TARGETS: '' });
    try {
      expect(await demoToken(svc.base)).not.toBe(await demoToken(svc.base));
    } finally {
      await svc.close();
    }
  });

  test("with the operator's TOKEN_SECRET set, there is no demo unless DEMO=true", async () => {
    const svc = await allInOne({ AUTH: 'token', TOKEN_SECRET: SECRET, ALLOW_TARGETS: '' });
    try {
      expect((await request(`${svc.base}/`)).body).toMatchObject({ ok: false, error: 'not_found' });
      const token = mintToken(SECRET, { targets: [`ws://localhost:${svc.port}/echo`], allowNoOrigin: true });
      expect(await outcome(create(svc.base, { target: `ws://localhost:${svc.port}/echo`, token }))).toBe('target_forbidden_address');
    } finally {
      await svc.close();
    }
  });
});

describe('secrets', () => {
  test.each([
    ['x', /has 1 bytes, fewer than 32; make one with: openssl rand -hex 32/],
    ['change-me-before-anything-real-0123456789', /placeholder.*openssl rand -hex 32/],
  ])('TOKEN_SECRET=%s is refused with what to do', (secret, why) => {
    expect(() => loadConfig({ TOKEN_SECRET: secret, REDIS_URL: 'redis://127.0.0.1:1' }, 'router')).toThrow(ConfigError);
    expect(() => loadConfig({ TOKEN_SECRET: secret, REDIS_URL: 'redis://127.0.0.1:1' }, 'router')).toThrow(why);
  });

  test('a process started with a weak TOKEN_SECRET stops at once, with one line and no stack', async () => {
    const r = await new Promise<{ code: number | null; stderr: string }>((resolve) =>
      execFile(process.execPath, [CLI, 'start'], { env: { PATH: process.env.PATH, TOKEN_SECRET: 'x', PORT: '0' } }, (err, _o, stderr) =>
        resolve({ code: err ? (err.code as number) : 0, stderr }),
      ),
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/TOKEN_SECRET has 1 bytes.*openssl rand -hex 32/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  test('`polysocket token` will not sign with a weak secret either', async () => {
    const r = await new Promise<{ code: number | null; stderr: string }>((resolve) =>
      execFile(
        process.execPath,
        [CLI, 'token', '--target', 'wss://example.com/'],
        { env: { PATH: process.env.PATH, TOKEN_SECRET: 'secret' } },
        (err, _o, stderr) => resolve({ code: err ? (err.code as number) : 0, stderr }),
      ),
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/placeholder/);
  });
});
