/**
 * The express plumbing both roles share: flat query strings, a URL length bound, and one place
 * where errors become answers (JSONP 200 with the error inside when a valid cb was given).
 */
import express, { type NextFunction, type Request, type Response } from 'express';
import { asPolysocketError, PolysocketError } from './errors';
import { errorFields, redactUrl, type Logger } from './log';
import { checkUrlLength } from './params';
import { answerError } from './respond';

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
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const e = asPolysocketError(err);
    if (e.code === 'internal')
      log.error('request_failed', { url: redactUrl(req.originalUrl), ...errorFields((e as { cause?: unknown }).cause) });
    answerError(res, req.query ?? {}, e);
  });
}
