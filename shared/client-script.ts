/**
 * Serves the browser client (client/dist/polysocket.js, .min.js and the ES module .mjs), read once at start.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import express, { type Request, type Response, type Router } from 'express';
import { PolysocketError } from './errors';

const DIST = path.resolve(__dirname, '..', '..', 'client', 'dist');
const DIST_FROM_SOURCE = path.resolve(__dirname, '..', 'client', 'dist');

function read(name: string): string | undefined {
  for (const dir of [DIST, DIST_FROM_SOURCE]) {
    try {
      return readFileSync(path.join(dir, name), 'utf8');
    } catch {
      // try the next layout (compiled dist/ or ts source)
    }
  }
  return undefined;
}

function clientScriptHandler(name: ClientFile) {
  const body = read(name) ?? `/* ${name} is not built: run npm run build:client */\n`;
  return (_req: Request, res: Response) => {
    res.setHeader('Content-Type', 'application/javascript; charset=utf-8');
    res.setHeader('Cache-Control', 'public, max-age=300');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Access-Control-Allow-Origin', '*');
    res.end(body);
  };
}

const FILES = ['polysocket.js', 'polysocket.min.js', 'polysocket.mjs'] as const;
type ClientFile = (typeof FILES)[number];

/** GET (and HEAD) /polysocket.js, .min.js and .mjs (the ES module); any other method is method_not_allowed. */
export function clientScriptRoutes(): Router {
  const r = express.Router();
  for (const name of FILES) {
    r.get(`/${name}`, clientScriptHandler(name));
    r.all(`/${name}`, () => {
      throw new PolysocketError('method_not_allowed');
    });
  }
  return r;
}
