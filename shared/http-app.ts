/**
 * The express plumbing both roles share: flat query strings, a URL length bound, and one place
 * where errors become answers (JSONP 200 with the error inside when a valid cb was given).
 */
import express, { type NextFunction, type Request, type Response } from 'express';
import { PolysocketError } from './errors';
import type { Logger } from './log';
import { checkUrlLength } from './params';
import { answerFailure } from './respond';

export function createApp(maxUrlBytes: number): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  // Flat values only: `a[b]=1` must not turn into objects.
  app.set('query parser', 'simple');
  app.use((req, _res, next) => {
    checkUrlLength(req.url, maxUrlBytes);
    next();
  });
  return app;
}

/** 404 for everything else, then the error answerer. Mount last. */
export function finishApp(app: express.Express, log: Logger): void {
  app.use((_req, _res, next) => next(new PolysocketError('not_found')));
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) =>
    answerFailure(res, req.query ?? {}, err, log, req.originalUrl),
  );
}
