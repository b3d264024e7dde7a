#!/usr/bin/env node
/**
 * What `npm test` needs from the machine beyond npm: Debian's chromium, firefox-esr and WebKitGTK
 * (its driver, under Xvfb) for the browser tests, squid (a real proxy in front of them), mosquitto
 * (mqtt.js through the polyfill), redis-server, ss and openssl (the listen queue and TLS tests), and a Redis on 127.0.0.1:6379. As root
 * with apt-get, whatever is missing is installed and Redis started; otherwise the run stops at
 * once with one line saying what to run. Plain JavaScript: it runs before anything is built.
 */
'use strict';
const { execFileSync, spawnSync } = require('node:child_process');
const net = require('node:net');

/** [a command (or an absolute path) the tests run, the Debian package that brings it] */
const PACKAGES = [
  ['chromium', 'chromium'],
  ['/usr/bin/firefox-esr', 'firefox-esr'],
  // WebKitGTK's MiniBrowser comes with libwebkit2gtk, which the driver depends on
  ['/usr/bin/WebKitWebDriver', 'webkit2gtk-driver'],
  ['xvfb-run', 'xvfb'],
  ['xauth', 'xauth'],
  // the proxy the fallback tests put in front of the browser (test/helpers/proxies.ts)
  ['/usr/sbin/squid', 'squid'],
  ['mosquitto', 'mosquitto'],
  ['redis-server', 'redis-server'],
  ['ss', 'iproute2'],
  ['openssl', 'openssl'],
];

function onPath(command) {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

function fail(line) {
  process.stderr.write(`npm test: ${line}\n`);
  process.exit(1);
}

function redisAnswers(port) {
  return new Promise((resolve) => {
    const c = net.connect(port, '127.0.0.1');
    c.setTimeout(1000);
    c.once('connect', () => c.write('PING\r\n'));
    c.once('data', (d) => {
      c.destroy();
      resolve(d.toString().startsWith('+PONG'));
    });
    c.once('error', () => resolve(false));
    c.once('timeout', () => {
      c.destroy();
      resolve(false);
    });
  });
}

async function main() {
  const missing = PACKAGES.filter(([command]) => !onPath(command)).map(([, pkg]) => pkg);
  if (missing.length) {
    const root = typeof process.getuid === 'function' && process.getuid() === 0;
    if (!root || !onPath('apt-get')) {
      fail(`the tests need ${missing.join(', ')}: run  sudo apt-get install -y ${missing.join(' ')}  and then npm test again`);
    }
    process.stderr.write(`npm test: installing ${missing.join(', ')} (Debian packages; once)...\n`);
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    execFileSync('apt-get', ['update', '-qq'], { stdio: ['ignore', 'ignore', 'inherit'], env });
    execFileSync('apt-get', ['install', '-y', '-qq', ...missing], { stdio: ['ignore', 'ignore', 'inherit'], env });
  }
  if (!(await redisAnswers(6379))) {
    process.stderr.write('npm test: starting redis-server on 127.0.0.1:6379 (the tests use it; each file under its own key prefix)\n');
    execFileSync('redis-server', ['--daemonize', 'yes', '--bind', '127.0.0.1', '--port', '6379', '--save', '', '--appendonly', 'no'], {
      stdio: 'ignore',
    });
    const deadline = Date.now() + 10_000;
    while (!(await redisAnswers(6379))) {
      if (Date.now() > deadline) fail('redis-server did not answer on 127.0.0.1:6379 within 10 s');
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

main().catch((err) => fail(err.message));
