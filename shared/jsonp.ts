/**
 * JSONP framing: pure functions, no I/O. A callback is a dotted identifier path so that
 * jQuery-style names work and nothing else can be injected into the script we serve.
 */
export const MAX_CALLBACK_LENGTH = 128;

const CALLBACK = /^[A-Za-z_$][A-Za-z0-9_$]*(?:\.[A-Za-z_$][A-Za-z0-9_$]*)*$/;

export function isValidCallback(cb: string): boolean {
  return cb.length > 0 && cb.length <= MAX_CALLBACK_LENGTH && CALLBACK.test(cb);
}

const UNSAFE = /[\u2028\u2029<>&]/g;
const HAS_UNSAFE = /[\u2028\u2029<>&]/;
const ESCAPES: Record<string, string> = {
  '\u2028': '\\u2028',
  '\u2029': '\\u2029',
  '<': '\\u003c',
  '>': '\\u003e',
  '&': '\\u0026',
};

/**
 * JSON text that is also safe inside a script: U+2028/2029 break pre-ES2019 parsers, and
 * `<`, `>`, `&` could close a script element or be sniffed as HTML. The escapes are still JSON.
 */
export function scriptSafeJson(value: unknown): string {
  return escapeJsonText(JSON.stringify(value));
}

export function escapeJsonText(json: string): string {
  return HAS_UNSAFE.test(json) ? json.replace(UNSAFE, (c) => ESCAPES[c]) : json;
}

/** `/**\/cb(json);` — the leading comment defeats the Rosetta-Flash style content sniffing attacks. */
export function jsonpBody(cb: string, json: string): string {
  return `/**/${cb}(${json});`;
}

/**
 * jsonpBody in the two parts around the JSON, for JSON written as bytes of its own:
 * `jsonpHead(cb) + json + JSONP_TAIL` is `jsonpBody(cb, json)`. Both are ASCII (cb is validated).
 */
export function jsonpHead(cb: string): string {
  return `/**/${cb}(`;
}
export const JSONP_TAIL = ');';
