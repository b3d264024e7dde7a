/**
 * The `polysocket` command as operators meet it: help, token minting, and clear refusals of a
 * bad configuration (one line per problem, non-zero exit).
 */
import { execFile } from 'node:child_process';
import jwt from 'jsonwebtoken';
import { CLI } from '../harness/processes';

function run(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH, ...env }, timeout: 10_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

test('help lists the commands and every setting with its default', async () => {
  const r = await run(['help']);
  expect(r.code).toBe(0);
  for (const s of ['start', 'router', 'relay', 'token', 'REDIS_URL', 'POLL_MAX_TTL_MS', '[25000]', 'IDLE_TIMEOUT_MS'])
    expect(r.stdout).toContain(s);
});

test('token mints a JWT with the claims asked for, signed with TOKEN_SECRET', async () => {
  const r = await run(
    ['token', '--target', 'wss://mqtt.example.com/ws', '--origin', 'https://app.example', '--max', '5', '--ttl', '600', '--once'],
    { TOKEN_SECRET: 's3cret-0123456789abcdef0123456789abcdef' },
  );
  expect(r.code).toBe(0);
  const claims = jwt.verify(r.stdout.trim(), 's3cret-0123456789abcdef0123456789abcdef', { algorithms: ['HS256'] }) as jwt.JwtPayload;
  expect(claims).toMatchObject({ targets: ['wss://mqtt.example.com/ws'], origins: ['https://app.example'], max_sockets: 5, once: true });
  expect(claims.exp! - claims.iat!).toBe(600);
});

test('token without a secret or target says what is missing', async () => {
  const r = await run(['token']);
  expect(r.code).toBe(1);
  expect(r.stderr).toContain('TOKEN_SECRET must be set');
  expect(r.stderr).toContain('--target');
});

test('a relay without REDIS_URL and with a bad value refuses to start, naming each problem', async () => {
  const r = await run(['relay'], { PORT: 'abc', MAX_SOCKETS: '0' });
  expect(r.code).toBe(1);
  expect(r.stderr).toContain('REDIS_URL is required');
  expect(r.stderr).toContain('PORT="abc" is not a whole number');
  expect(r.stderr).toContain('MAX_SOCKETS=0 is out of range');
});

test('a relay whose Redis cannot be reached says so in one line and exits non-zero', async () => {
  const r = await run(['relay'], { REDIS_URL: 'redis://127.0.0.1:1' });
  expect(r.code).toBe(1);
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
  expect(r.stderr).toContain('store_unavailable: cannot reach Redis at redis://127.0.0.1:1');
});

test('an unknown command or flag is refused', async () => {
  expect((await run(['serve'])).stderr).toContain("unknown command 'serve'");
  expect((await run(['start', '--no-such-flag', '1'])).stderr).toContain('unknown option(s)');
});
