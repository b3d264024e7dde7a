/**
 * Every shell command the README shows, run as written (`sh -c`, from the project root, in one
 * session so that an `export` line holds for the lines after it). Servers are stopped with SIGTERM
 * once they say they started; short commands must exit 0. Two are run elsewhere: the test command
 * is what .ci/run runs (this very suite), and `docker compose up` is test/ops/compose.test.ts.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT, spawnRole } from '../harness/processes';
import { reachable } from '../harness/redis';
import { until } from '../harness/until';

const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
/** Every line of every ```sh block, comments and blank lines aside. */
const lines = [...readme.matchAll(/```sh\n([\s\S]*?)```/g)]
  .flatMap((m) => m[1].split('\n'))
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'));
const exports = lines.filter((l) => l.startsWith('export '));
const SERVER = /\b(npm start|polysocket (start|router|relay))\b/;
const ELSEWHERE = /npm test|docker compose/;

function run(line: string, server: boolean): Promise<{ code: number | null; out: string; started: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', [...exports, line].join('\n')], {
      cwd: ROOT,
      detached: true, // its own process group: SIGTERM reaches npm, sh and the server alike
      env: { PATH: process.env.PATH, HOME: process.env.HOME },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let started = false;
    const seen = (d: Buffer) => {
      out += d.toString();
      if (!started && server && /"event":"(all_in_one|router|relay)_started"/.test(out)) {
        started = true;
        process.kill(-child.pid!, 'SIGTERM');
      }
    };
    child.stdout.on('data', seen);
    child.stderr.on('data', seen);
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, out, started }));
  });
}

test('the README shows the commands this test runs', () => {
  expect(lines.filter((l) => SERVER.test(l)).length).toBeGreaterThanOrEqual(5);
  expect(lines.some((l) => l.includes('polysocket token'))).toBe(true);
  expect(lines.some((l) => l.includes('polysocket status'))).toBe(true);
  expect(exports).toEqual(['export TOKEN_SECRET=$(openssl rand -hex 32) # no default secret: routers and `token` share this one']);
});

test('the README test command is what .ci/run runs', () => {
  const ci = readFileSync(path.join(ROOT, '.ci', 'run'), 'utf8');
  const readmeTest = lines
    .find((l) => l.includes('npm test'))!
    .split('#')[0]
    .trim();
  expect(readmeTest).toBe('npm install && npm test');
  expect(ci.trim().split('\n').at(-1)).toBe('npm test');
});

describe.each(lines.filter((l) => !l.startsWith('export ') && !ELSEWHERE.test(l)))('%s', (line) => {
  test('runs as written', async () => {
    const server = SERVER.test(line);
    // `status` reads a running router's admin port: one is up on 9090 (the image's) while it runs
    const target = /polysocket status/.test(line) ? await spawnRole('start', { ADMIN_PORT: '9090', AUTH: 'none' }) : undefined;
    const r = await run(line, server).finally(() => target?.kill('SIGTERM'));
    if (server) {
      expect({ started: r.started, out: r.out.slice(-2000) }).toMatchObject({ started: true });
      // stopped by the signal, however it was started: its port is free again
      const port = Number(/--port (\d+)/.exec(line)?.[1] ?? 8080);
      await until(async () => !(await reachable(port)), 10_000, `port ${port} given back`);
    } else {
      expect({ code: r.code, out: r.out.slice(-2000) }).toMatchObject({ code: 0 });
      expect(r.out.trim().length).toBeGreaterThan(0);
    }
  }, 120_000);
});
