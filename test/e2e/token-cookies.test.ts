/**
 * `polysocket token --cookie NAME`: the minted token's `cookies` claim, which names the cookies a
 * router passes from /create on to the upstream handshake, and one line for a name routers would refuse.
 */
import { execFile } from 'node:child_process';
import jwt from 'jsonwebtoken';
import { CLI } from '../harness/processes';

const SECRET = 'token-cookies-secret-0123456789abcdef0123456789abcdef';
const TARGET = ['--target', 'wss://app.example.com/ws'];

function token(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, 'token', ...TARGET, ...args],
      { env: { PATH: process.env.PATH, TOKEN_SECRET: SECRET }, timeout: 10_000 },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

const claims = (stdout: string) => jwt.verify(stdout.trim(), SECRET, { algorithms: ['HS256'] }) as jwt.JwtPayload;

test('each --cookie adds its name to the cookies claim, in order', async () => {
  const r = await token(['--cookie', 'session', '--cookie', 'user_id']);
  expect(r.code).toBe(0);
  expect(claims(r.stdout).cookies).toEqual(['session', 'user_id']);
});

test('without --cookie the token has no cookies claim (no cookie goes upstream)', async () => {
  const r = await token([]);
  expect(r.code).toBe(0);
  expect(claims(r.stdout)).not.toHaveProperty('cookies');
});

test('a name routers would refuse is one line, no token and no stack', async () => {
  const r = await token(['--cookie', 'session', '--cookie', 'my session']);
  expect(r.code).toBe(1);
  expect(r.stdout).toBe('');
  expect(r.stderr).toBe(`polysocket: cookie name "my session" is not a cookie name (1 to 64 letters, digits or !#$%&'*+-.^_\`|~)\n`);
});

test('more than 32 names is one line, as routers refuse such a claim', async () => {
  const r = await token(Array.from({ length: 33 }, (_, i) => ['--cookie', `c${i}`]).flat());
  expect(r.code).toBe(1);
  expect(r.stderr).toBe('polysocket: a token names at most 32 cookies\n');
});

test('--cookie without a name says it needs one', async () => {
  const r = await token(['--cookie']);
  expect(r.code).toBe(1);
  expect(r.stderr).toBe('polysocket: --cookie needs a value\n');
});
