/**
 * Request parameters (query fields, or form fields of a POST body) as typed values: a repeated
 * parameter is malformed, numbers are whole and bounded. Pure: used by both roles' HTTP layers.
 */
import { PolysocketError } from './errors';

/** Parsed query or form fields: a repeated name holds an array. */
export type Fields = Record<string, unknown>;

/** A single-valued string parameter, or undefined; repeated parameters are malformed. */
export function param(source: Fields, name: string): string | undefined {
  const v = source[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new PolysocketError('bad_parameter', `${name} must be given once`);
  return v;
}

/** A whole number parameter within [min, max], or undefined when absent. */
export function intParam(
  source: Fields,
  name: string,
  min: number,
  max: number,
  code: 'bad_parameter' | 'bad_ttl' | 'bad_ack' = 'bad_parameter',
): number | undefined {
  const v = param(source, name);
  if (v === undefined || v === '') return undefined;
  if (!/^\d{1,15}$/.test(v)) throw new PolysocketError(code, `${name} must be a whole number`);
  const n = Number(v);
  if (n < min || n > max) throw new PolysocketError(code, `${name} must be between ${min} and ${max}`);
  return n;
}

/** §1: request URLs are bounded by MAX_URL_BYTES. */
export function checkUrlLength(url: string, maxUrlBytes: number): void {
  if (url.length > maxUrlBytes) throw new PolysocketError('url_too_long', `request URLs are limited to ${maxUrlBytes} bytes`);
}
