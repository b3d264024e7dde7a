/**
 * The package as a user installs it: `npm pack`, then, in an empty folder,
 * `npm install ./polysocket-*.tgz && npx polysocket start`. The tarball holds what a user runs
 * (dist/, the browser client, the Lua scripts, the docs) and nothing else; `npm test` has just
 * built, so the pack here skips the build that `prepack` does for a real release.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT } from '../harness/processes';
import { reachable } from '../harness/redis';
import { until } from '../harness/until';

test('npm pack, then npm install ./polysocket-*.tgz && npx polysocket start in an empty folder', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ps-pack-'));
  const npm = (args: string[], cwd: string) =>
    execFileSync('npm', args, { cwd, encoding: 'utf8', env: { ...process.env, npm_config_update_notifier: 'false' } });
  const packed = JSON.parse(npm(['pack', '--ignore-scripts', '--json', '--pack-destination', dir], ROOT))[0] as {
    filename: string;
    files: { path: string }[];
  };
  const files = packed.files.map((f) => f.path);
  expect(files).toEqual(expect.arrayContaining(['dist/bin/polysocket.js', 'client/dist/polysocket.mjs', 'shared/store/lua/admit.lua']));
  expect(files.filter((f) => /^(test|bench|router|relay)\/|\.ts$/.test(f) && !f.endsWith('.d.ts'))).toEqual([]);

  const app = path.join(dir, 'app');
  execFileSync('mkdir', [app]);
  writeFileSync(path.join(app, 'package.json'), '{ "name": "app", "private": true }\n');
  npm(['install', '--prefer-offline', '--no-audit', '--no-fund', path.join(dir, packed.filename)], app);
  expect(readdirSync(path.join(app, 'node_modules'))).toContain('polysocket');
  // only the runtime dependencies came along
  expect(readdirSync(path.join(app, 'node_modules'))).not.toContain('typescript');

  const child = spawn('sh', ['-c', 'PORT=0 npx polysocket start'], { cwd: app, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const exited = new Promise((r) => child.on('exit', r));
  try {
    await until(() => /"event":"all_in_one_started"/.test(out), 30_000, 'the installed package started');
    const port = Number(/"event":"all_in_one_started"[^\n]*"port":(\d+)/.exec(out)![1]);
    expect(await reachable(port)).toBe(true);
    const demo = await fetch(`http://127.0.0.1:${port}/polysocket.js`);
    expect(await demo.text()).toContain('polysocket.js');
  } finally {
    process.kill(-child.pid!, 'SIGTERM');
    await exited;
  }
}, 120_000);
