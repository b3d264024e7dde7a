/**
 * The express plumbing both roles share: flat query strings, a URL length bound, and one place
 * where errors become answers (JSONP 200 with the error inside when a valid cb was given).
 */
import express, { type NextFunction, type Request, type Response } from 'express';
import { asPolysocketError, PolysocketError } from './errors';
import { errorFields, redactUrl, type Logger } from './log';
import { answerError } from './respond';

export function createApp(maxUrlBytes: number): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  // Flat values only: `a[b]=1` must not turn into objects.
  app.set('query parser', 'simple');
  app.use((req, _res, next) => {
    next(req.url.length > maxUrlBytes ? new PolysocketError('url_too_long', `request URLs are limited to ${maxUrlBytes} bytes`) : undefined);
  });
  return app;
}

/** 404 for everything else, then the error answerer. Mount last. */
export function finishApp(app: express.Express, log: Logger): void {
  app.use((_req, _res, next) => next(new PolysocketError('not_found')));
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const e = asPolysocketError(err);
    if (e.code === 'internal') log.error('request_failed', { url: redactUrl(req.originalUrl), ...errorFields((e as { cause?: unknown }).cause) });
    answerError(res, req.query ?? {}, e);
  });
}

/** A single-valued string parameter, or undefined; repeated parameters are malformed. */
export function param(source: Record<string, unknown>, name: string): string | undefined {
  const v = source[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new PolysocketError('bad_parameter', `${name} must be given once`);
  return v;
}

/** A whole number parameter within [min, max], or undefined when absent. */
export function intParam(source: Record<string, unknown>, name: string, min: number, max: number, code: 'bad_parameter' | 'bad_ttl' | 'bad_ack' = 'bad_parameter'): number | undefined {
  const v = param(source, name);
  if (v === undefined || v === '') return undefined;
  if (!/^\d{1,15}$/.test(v)) throw new PolysocketError(code, `${name} must be a whole number`);
  const n = Number(v);
  if (n < min || n > max) throw new PolysocketError(code, `${name} must be between ${min} and ${max}`);
  return n;
}
