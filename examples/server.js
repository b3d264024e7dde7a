#!/usr/bin/env node
/**
 * An application backend beside polysocket: it serves the example pages and mints a polysocket
 * token for each signed-in user, per socket, for the targets the application allows. Your
 * backend does the same in its own framework; polysocket never sees your users.
 *
 *   TOKEN_SECRET=<the routers' secret> ROUTER=http://localhost:8080 \
 *   TARGETS=ws://localhost:1883/,ws://localhost:4000/graphql node examples/server.js
 *
 * then open http://localhost:3000/ (sign in with any name; the pages load polysocket.js from ROUTER).
 */
'use strict';
const path = require('node:path');
const crypto = require('node:crypto');
const express = require('express');
const jwt = require('jsonwebtoken');

/** The libraries' browser bundles, as an application would serve its own (from node_modules here). */
const LIBRARIES = {
  mqtt: 'mqtt/dist/mqtt.min.js',
  'socket.io': 'socket.io-client/dist/socket.io.min.js',
  'graphql-ws': 'graphql-ws/umd/graphql-ws.min.js',
  stomp: '@stomp/stompjs/bundles/stomp.umd.min.js',
};

/**
 * @param {{ secret: string, router: string, targets: string[], ttlSeconds?: number, maxSockets?: number }} o
 *   targets: the target patterns tokens may name (docs/PROTOCOL.md §6.1), e.g. ws://mqtt.example.com/ws
 */
function createExampleApp(o) {
  const app = express();
  app.disable('x-powered-by');
  const sessions = new Map(); // session id -> user name: a stand-in for your real sign-in

  app.get('/login', (req, res) => {
    const user = String(req.query.user || '').slice(0, 40);
    if (!/^[\w.-]+$/.test(user)) return res.status(400).send('sign in with a user name: /login?user=alice');
    const sid = crypto.randomBytes(18).toString('base64url');
    sessions.set(sid, user);
    res.setHeader('Set-Cookie', `sid=${sid}; Path=/; HttpOnly; SameSite=Lax`);
    res.redirect(typeof req.query.next === 'string' && req.query.next.startsWith('/') ? req.query.next : '/');
  });

  /** GET /token: a token for the signed-in user, for this page's origin, minutes long. */
  app.get('/token', (req, res) => {
    const sid = /(?:^|;\s*)sid=([^;]+)/.exec(req.headers.cookie || '');
    const user = sid && sessions.get(sid[1]);
    if (!user) return res.status(401).json({ error: 'sign in first: /login?user=<name>' });
    const origin = `${req.protocol}://${req.headers.host}`;
    const token = jwt.sign({ targets: o.targets, origins: [origin], max_sockets: o.maxSockets || 5 }, o.secret, {
      algorithm: 'HS256',
      expiresIn: o.ttlSeconds || 300,
      subject: user,
    });
    res.setHeader('Cache-Control', 'no-store');
    res.json({ token });
  });

  /** The pages read polysocket's router from here. */
  app.get('/config.js', (_req, res) => {
    res.type('application/javascript').send(`window.EXAMPLE = ${JSON.stringify({ router: o.router })};\n`);
  });

  app.get('/lib/:name.js', (req, res, next) => {
    const file = Object.hasOwn(LIBRARIES, req.params.name) && LIBRARIES[req.params.name];
    if (!file) return next();
    // this repository's node_modules; an application serves its own bundles its own way
    res.sendFile(path.join(__dirname, '..', 'node_modules', file));
  });
  app.use(express.static(__dirname, { index: 'index.html', extensions: ['html'] }));
  return app;
}

module.exports = { createExampleApp };

if (require.main === module) {
  const secret = process.env.TOKEN_SECRET;
  if (!secret) {
    process.stderr.write("examples/server.js: set TOKEN_SECRET to the routers' secret\n");
    process.exit(1);
  }
  const router = process.env.ROUTER || 'http://localhost:8080';
  const targets = (process.env.TARGETS || '').split(',').filter(Boolean);
  if (!targets.length) {
    process.stderr.write('examples/server.js: set TARGETS to the WebSocket servers the pages may reach, comma-separated\n');
    process.exit(1);
  }
  const port = Number(process.env.PORT || 3000);
  createExampleApp({ secret, router, targets }).listen(port, () => {
    process.stdout.write(`examples on http://localhost:${port}/ (polysocket router: ${router}; ${path.basename(__filename)})\n`);
  });
}
