#!/usr/bin/env node
/**
 * Makes a checkout runnable: builds dist/ (server and browser client) when it is missing or older
 * than its sources, and links node_modules/.bin/polysocket to it, so that `npx polysocket …` runs
 * this checkout instead of looking for the package on the registry. `npm install` runs it
 * (prepare), and so does `npm start`, which then builds only when something changed.
 * Plain JavaScript: it runs before anything is built.
 */
'use strict';
const { execSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
// what a build writes last of all (tsc rewrites every output file, then the client build runs)
const SOURCES = [
  'router',
  'relay',
  'shared',
  'bin',
  'client/src',
  'client/build.js',
  'package.json',
  'tsconfig.json',
  'tsconfig.build.json',
];

function newest(p) {
  let st;
  try {
    st = fs.statSync(p);
  } catch {
    return 0;
  }
  if (!st.isDirectory()) return st.mtimeMs;
  let t = st.mtimeMs;
  for (const name of fs.readdirSync(p)) t = Math.max(t, newest(path.join(p, name)));
  return t;
}

const OUTPUTS = ['dist/bin/polysocket.js', 'client/dist/polysocket.js', 'client/dist/polysocket.min.js'];

function builtAt() {
  try {
    return Math.min(...OUTPUTS.map((o) => fs.statSync(path.join(root, o)).mtimeMs));
  } catch {
    return 0;
  }
}

const sourcesAt = Math.max(...SOURCES.map((s) => newest(path.join(root, s))));
if (builtAt() < sourcesAt) {
  const first = builtAt() === 0;
  process.stderr.write(`polysocket: building dist/ (${first ? 'first run, ' : 'sources changed, '}about 20 s)...\n`);
  execSync('npm run build --silent', { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
}

const cli = path.join(root, 'dist', 'bin', 'polysocket.js');
fs.chmodSync(cli, 0o755);
const binDir = path.join(root, 'node_modules', '.bin');
if (fs.existsSync(path.join(root, 'node_modules'))) {
  fs.mkdirSync(binDir, { recursive: true });
  const link = path.join(binDir, 'polysocket');
  fs.rmSync(link, { force: true });
  fs.symlinkSync(path.relative(binDir, cli), link);
}
