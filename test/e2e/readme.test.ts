/**
 * Every shell command the README shows, run as written (`sh -c`, from the project root, in one
 * session so that an `export` line holds for the lines after it). Servers are stopped with SIGTERM
 * once they say they started; short commands must exit 0. Two are run elsewhere: the test command
 * is what .ci/run runs (this very suite), and `docker compose up` is test/ops/compose.test.ts.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from '../harness/processes';
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

/** Starts a README server line and leaves it running, as a user's first terminal would; resolves once it started. */
function background(line: string): Promise<{ stop(): Promise<void> }> {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', [...exports, line].join('\n')], {
      cwd: ROOT,
      detached: true,
      env: { PATH: process.env.PATH, HOME: process.env.HOME },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<void>((done) => child.once('exit', () => done()));
    const stop = async () => {
      try {
        process.kill(-child.pid!, 'SIGTERM');
      } catch {
        // the group is gone already
      }
      await exited;
    };
    // bounded: a server that never says it started is stopped, not left behind
    const timer = setTimeout(() => void stop().then(() => reject(new Error(`${line} did not start within 100 s`))), 100_000);
    let out = '';
    const seen = (d: Buffer) => {
      out += d.toString();
      if (/"event":"all_in_one_started"/.test(out)) {
        clearTimeout(timer);
        resolve({ stop });
      }
    };
    child.stdout.on('data', seen);
    child.stderr.on('data', seen);
    child.on('error', reject);
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`${line} exited before it started: ${out.slice(-2000)}`));
    });
  });
}

describe.each(lines.filter((l) => !l.startsWith('export ') && !ELSEWHERE.test(l)))('%s', (line) => {
  test('runs as written', async () => {
    const server = SERVER.test(line);
    // `status` reads a running all-in-one's admin port: the README's own `npm start`, still running,
    // as a user who followed the README from its first line has it
    const first = lines.find((l) => /\bnpm start\b/.test(l))!;
    const target = /polysocket status/.test(line) ? await background(first) : undefined;
    const r = await run(line, server).finally(() => target?.stop());
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
