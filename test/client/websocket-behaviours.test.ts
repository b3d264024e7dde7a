/**
 * The WebSocket API, behaviour by behaviour, after the web-platform-tests `websockets/` suite
 * (our own port: constructor and URL handling, attributes, events, send and close). Each behaviour
 * runs in each engine (Chromium, Firefox, WebKit: test/helpers/engines) against that browser's
 * native WebSocket and against the forced polyfill (with the browser's URL parser, and with the
 * small parser polysocket.js uses where there is none, as in IE). The polyfill must pass every
 * behaviour the engine's native socket passes, but for the few no ES3 polyfill can express; where
 * an engine's native socket fails one, its result is listed beside the polyfill's (docs/CLIENT.md).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { mintToken } from '../../router/token';
import { type PageServer, startPageServer } from '../helpers/browser';
import { ALL_ENGINES, type Engine, type EngineName, enginesToRun, launchEngine } from '../helpers/engines';
import { allInOne } from '../helpers/services';
import { startUpstream, type Upstream } from '../helpers/upstream';

const SECRET = 'behaviours-secret-0123456789abcdef0123456789abcdef';

/** name → body of `async (W, url) => boolean`; W is the constructor under test, url an echo server. */
const BEHAVIOURS: [string, string][] = [
  // constructor and URL
  ['no argument is a TypeError', 'try { new W(); return false; } catch (e) { return e instanceof TypeError; }'],
  [
    'a port out of range is a SyntaxError',
    "try { new W('ws://127.0.0.1:99999/'); return false; } catch (e) { return e.name === 'SyntaxError'; }",
  ],
  ['an unclosed IPv6 host is a SyntaxError', "try { new W('ws://[::1/'); return false; } catch (e) { return e.name === 'SyntaxError'; }"],
  [
    'a forbidden host code point is a SyntaxError',
    "try { new W('ws://exa<mple/'); return false; } catch (e) { return e.name === 'SyntaxError'; }",
  ],
  ['an empty fragment is a SyntaxError', "try { new W(url + '/#'); return false; } catch (e) { return e.name === 'SyntaxError'; }"],
  ['a fragment is a SyntaxError', "try { new W(url + '/#x'); return false; } catch (e) { return e.name === 'SyntaxError'; }"],
  ['another scheme is a SyntaxError', "try { new W('ftp://127.0.0.1/'); return false; } catch (e) { return e.name === 'SyntaxError'; }"],
  ['http: becomes ws:', "var ws = new W(url.replace('ws:', 'http:') + '/p'); ws.close(); return ws.url === url + '/p';"],
  ['https: becomes wss:', "var ws = new W('https://127.0.0.1:1/p'); ws.close(); return ws.url === 'wss://127.0.0.1:1/p';"],
  [
    'a relative URL resolves against the page',
    "var ws = new W('/rel?x'); ws.close(); return ws.url === location.origin.replace('http', 'ws') + '/rel?x';",
  ],
  ['ws:host/path (no slashes) is taken', "var ws = new W('ws:127.0.0.1:1/p'); ws.close(); return ws.url === 'ws://127.0.0.1:1/p';"],
  ['url gets its path /', "var ws = new W(url); ws.close(); return ws.url === url + '/';"],
  ['url lowercases the host', "var ws = new W('ws://EXAMPLE.invalid/'); ws.close(); return ws.url === 'ws://example.invalid/';"],
  ['url drops the default port', "var ws = new W('ws://example.invalid:80/a'); ws.close(); return ws.url === 'ws://example.invalid/a';"],
  ['url keeps another port', "var ws = new W('wss://example.invalid:80/a'); ws.close(); return ws.url === 'wss://example.invalid:80/a';"],
  [
    'url percent-encodes non-ASCII in the query',
    "var ws = new W('ws://example.invalid/?\\u00e9'); ws.close(); return ws.url === 'ws://example.invalid/?%C3%A9';",
  ],
  [
    'url percent-encodes NUL in the query',
    "var ws = new W('ws://example.invalid/?a\\u0000b'); ws.close(); return ws.url === 'ws://example.invalid/?a%00b';",
  ],
  ['an empty subprotocol is a SyntaxError', "try { new W(url, ''); return false; } catch (e) { return e.name === 'SyntaxError'; }"],
  [
    'a repeated subprotocol is a SyntaxError',
    "try { new W(url, ['a', 'a']); return false; } catch (e) { return e.name === 'SyntaxError'; }",
  ],
  [
    'a subprotocol with a space is a SyntaxError',
    "try { new W(url, 'a b'); return false; } catch (e) { return e.name === 'SyntaxError'; }",
  ],
  ['a single subprotocol string is taken', "var ws = new W(url, 'chat'); ws.close(); return true;"],
  // attributes
  ['readyState is read-only', 'var ws = new W(url); ws.readyState = 3; var ok = ws.readyState === 0; ws.close(); return ok;'],
  ['url is read-only', "var ws = new W(url); ws.url = 'x'; var ok = ws.url === url + '/'; ws.close(); return ok;"],
  ['protocol is read-only', "var ws = new W(url); ws.protocol = 'x'; var ok = ws.protocol === ''; ws.close(); return ok;"],
  ['extensions is read-only', "var ws = new W(url); ws.extensions = 'x'; var ok = ws.extensions === ''; ws.close(); return ok;"],
  ['bufferedAmount is read-only', 'var ws = new W(url); ws.bufferedAmount = 5; var ok = ws.bufferedAmount === 0; ws.close(); return ok;'],
  [
    'the constants',
    'var ws = new W(url); ws.close(); return ws.CONNECTING === 0 && ws.OPEN === 1 && ws.CLOSING === 2 && ws.CLOSED === 3 && W.OPEN === 1;',
  ],
  [
    'the constants cannot be overwritten',
    'var ws = new W(url); ws.close(); ws.OPEN = 5; W.CLOSED = 9; return ws.OPEN === 1 && W.CLOSED === 3;',
  ],
  ['a socket is an EventTarget', 'var ws = new W(url); ws.close(); return ws instanceof EventTarget;'],
  [
    'a socket prints as [object WebSocket]',
    "var ws = new W(url); ws.close(); return Object.prototype.toString.call(ws) === '[object WebSocket]';",
  ],
  ['binaryType is blob at first', "var ws = new W(url); ws.close(); return ws.binaryType === 'blob';"],
  ['an invalid binaryType is ignored', "var ws = new W(url); ws.binaryType = 'nonsense'; ws.close(); return ws.binaryType === 'blob';"],
  [
    'binaryType takes arraybuffer',
    "var ws = new W(url); ws.binaryType = 'arraybuffer'; ws.close(); return ws.binaryType === 'arraybuffer';",
  ],
  [
    'on-handlers start null',
    'var ws = new W(url); ws.close(); return ws.onopen === null && ws.onmessage === null && ws.onerror === null && ws.onclose === null;',
  ],
  [
    'a non-function on-handler reads back null',
    "var ws = new W(url); ws.onopen = 'x'; ws.onclose = 5; ws.close(); return ws.onopen === null && ws.onclose === null;",
  ],
  [
    'initial state: CONNECTING, no protocol, no extensions, nothing buffered',
    'var ws = new W(url); ' +
      "var ok = ws.readyState === 0 && ws.protocol === '' && ws.extensions === '' && ws.bufferedAmount === 0; " +
      'ws.close(); return ok;',
  ],
  // events
  [
    'open, then the echo as a MessageEvent from the server origin',
    "var ws = new W(url); await new Promise(function (r) { ws.onopen = r; }); ws.send('hi'); " +
      'var e = await new Promise(function (r) { ws.onmessage = r; }); ws.close(); ' +
      "return e instanceof MessageEvent && e.data === 'hi' && e.origin === url && e.target === ws;",
  ],
  [
    'the open event is an Event',
    'var ws = new W(url); var e = await new Promise(function (r) { ws.onopen = r; }); ws.close(); ' +
      "return e instanceof Event && e.type === 'open';",
  ],
  [
    'listeners and the on-handler fire in registration order',
    "var ws = new W(url), order = []; ws.addEventListener('open', function () { order.push('a'); }); " +
      "ws.onopen = function () { order.push('b'); }; " +
      "ws.addEventListener('open', function () { order.push('c'); }); " +
      "await new Promise(function (r) { ws.addEventListener('open', r); }); ws.close(); " +
      "return order.join('') === 'abc';",
  ],
  [
    'replacing an on-handler keeps its place',
    "var ws = new W(url), order = []; ws.onopen = function () { order.push('x'); }; " +
      "ws.addEventListener('open', function () { order.push('c'); }); " +
      "ws.onopen = function () { order.push('b'); }; " +
      "await new Promise(function (r) { ws.addEventListener('open', r); }); ws.close(); " +
      "return order.join('') === 'bc';",
  ],
  [
    'a close event is a CloseEvent with the server code and reason',
    "var ws = new W(url); await new Promise(function (r) { ws.onopen = r; }); ws.send('close:4001:bye'); " +
      'var e = await new Promise(function (r) { ws.onclose = r; }); ' +
      "return e instanceof CloseEvent && e.code === 4001 && e.reason === 'bye' && e.wasClean === true;",
  ],
  [
    'readyState is CLOSED in the close event',
    'var ws = new W(url); await new Promise(function (r) { ws.onopen = r; }); ws.close(); ' +
      'var s = await new Promise(function (r) { ws.onclose = function () { r(ws.readyState); }; }); ' +
      'return s === 3;',
  ],
  [
    'close() makes readyState CLOSING at once',
    'var ws = new W(url); await new Promise(function (r) { ws.onopen = r; }); ws.close(); return ws.readyState === 2;',
  ],
  [
    'close() with no code: the close event says 1005',
    'var ws = new W(url); await new Promise(function (r) { ws.onopen = r; }); ws.close(); ' +
      'var e = await new Promise(function (r) { ws.onclose = r; }); return e.code === 1005 && e.wasClean;',
  ],
  [
    'close(3000.4) closes with 3000',
    "var ws = new W(url); await new Promise(function (r) { ws.onopen = r; }); ws.close(3000.4, 'x'); " +
      'var e = await new Promise(function (r) { ws.onclose = r; }); return e.code === 3000;',
  ],
  // send and close validation
  [
    'send while CONNECTING is an InvalidStateError',
    "var ws = new W(url); try { ws.send('x'); return false; } catch (e) { return e.name === 'InvalidStateError'; } finally { ws.close(); }",
  ],
  [
    'send() with no argument is a TypeError',
    'var ws = new W(url); await new Promise(function (r) { ws.onopen = r; }); try { ws.send(); ' +
      'return false; } catch (e) { return e instanceof TypeError; } finally { ws.close(); }',
  ],
  [
    'close(1001) is an InvalidAccessError',
    'var ws = new W(url); try { ws.close(1001); return false; ' +
      "} catch (e) { return e.name === 'InvalidAccessError'; } finally { ws.close(); }",
  ],
  [
    'close(70000) clamps to 65535: an InvalidAccessError',
    'var ws = new W(url); try { ws.close(70000); return false; ' +
      "} catch (e) { return e.name === 'InvalidAccessError'; } finally { ws.close(); }",
  ],
  [
    'a reason over 123 bytes is a SyntaxError',
    "var ws = new W(url); try { ws.close(1000, '\\u00e9'.repeat(62)); return false; " +
      "} catch (e) { return e.name === 'SyntaxError'; } finally { ws.close(); }",
  ],
  ['close() twice is fine', 'var ws = new W(url); ws.close(); ws.close(); return ws.readyState === 3 || ws.readyState === 2;'],
  [
    'close() while connecting: error, then close 1006',
    "var ws = new W(url), seen = []; ws.onerror = function () { seen.push('error'); }; " +
      "var c = new Promise(function (r) { ws.onclose = function (e) { seen.push('close ' + e.code); r(); " +
      "}; }); ws.close(); await c; return seen.join() === 'error,close 1006';",
  ],
  [
    'after close, send grows bufferedAmount and does not throw',
    'var ws = new W(url); await new Promise(function (r) { ws.onopen = r; }); ws.close(); ' +
      "await new Promise(function (r) { ws.onclose = r; }); ws.send('abc'); return ws.bufferedAmount === 3;",
  ],
  // data
  [
    'an unpaired surrogate is sent as U+FFFD',
    "var ws = new W(url); await new Promise(function (r) { ws.onopen = r; }); ws.send('a\\ud800'); " +
      'var e = await new Promise(function (r) { ws.onmessage = r; }); ws.close(); ' +
      "return e.data === 'a\\ufffd';",
  ],
  [
    'binary comes back as a Blob by default',
    'var ws = new W(url); await new Promise(function (r) { ws.onopen = r; }); ' +
      'ws.send(new Uint8Array([1, 2])); var e = await new Promise(function (r) { ws.onmessage = r; }); ' +
      'ws.close(); return e.data instanceof Blob && e.data.size === 2;',
  ],
  [
    'binary comes back as an ArrayBuffer when asked',
    "var ws = new W(url); ws.binaryType = 'arraybuffer'; await new Promise(function (r) { ws.onopen = r; " +
      '}); ws.send(new Uint8Array([7])); var e = await new Promise(function (r) { ws.onmessage = r; }); ' +
      'ws.close(); return e.data instanceof ArrayBuffer && new Uint8Array(e.data)[0] === 7;',
  ],
  [
    'a view sends only its own bytes',
    "var ws = new W(url); ws.binaryType = 'arraybuffer'; await new Promise(function (r) { ws.onopen = r; " +
      '}); ws.send(new Uint8Array([1, 2, 3, 4]).subarray(1, 3)); ' +
      'var e = await new Promise(function (r) { ws.onmessage = r; }); ws.close(); ' +
      "return Array.prototype.join.call(new Uint8Array(e.data)) === '2,3';",
  ],
  [
    'a Blob is sent as its bytes',
    "var ws = new W(url); ws.binaryType = 'arraybuffer'; await new Promise(function (r) { ws.onopen = r; " +
      "}); ws.send(new Blob(['ab'])); var e = await new Promise(function (r) { ws.onmessage = r; }); " +
      'ws.close(); return new Uint8Array(e.data).length === 2;',
  ],
  [
    'a bad port fails: error, then close 1006',
    "var ws = new W('ws://127.0.0.1:6666/'), seen = []; ws.onerror = function () { seen.push('error'); " +
      "}; await new Promise(function (r) { ws.onclose = function (e) { seen.push('close ' + e.code); r(); " +
      "}; }); return seen.join() === 'error,close 1006';",
  ],
  [
    'events are trusted',
    'var ws = new W(url); var e = await new Promise(function (r) { ws.onopen = r; }); ws.close(); return e.isTrusted === true;',
  ],
];

/** Behaviours a polyfill cannot match: the browser alone makes trusted events. */
const CANNOT = ['events are trusted'];

type Result = boolean | string;
/**
 * `fallback, …`: polysocket.js's default mode where the browser has WebSocket, `new WebSocket` being
 * polysocket's one object: over the native path (native gets through), and over the tunnel path
 * (a fallback remembered for this router, as after a proxy refused the upgrade).
 */
type Mode = 'native' | 'polyfill' | 'polyfill without URL' | 'fallback, native path' | 'fallback, tunnel path';
const MODES: Mode[] = ['native', 'polyfill', 'polyfill without URL', 'fallback, native path', 'fallback, tunnel path'];

/**
 * Where an engine's native WebSocket does not pass a behaviour: its result, and the polyfill's
 * (in both of its URL modes) in that engine, with what the native socket does instead. A change
 * either way shows; docs/CLIENT.md lists the same.
 */
const NATIVE_DIFFERS: Record<EngineName, Record<string, { native: Result; polyfill: Result; instead: string }>> = {
  chromium: {},
  firefox: {},
  webkit: {
    'after close, send grows bufferedAmount and does not throw': {
      native: false,
      polyfill: true,
      instead: "counts each frame's header and mask too: send('abc') after close makes 9, not 3",
    },
    'a bad port fails: error, then close 1006': {
      native: 'timeout',
      polyfill: true,
      instead: 'an error event and readyState CLOSED at once, but no close event at all',
    },
  },
};

let svc: Awaited<ReturnType<typeof allInOne>>;
let up: Upstream;

beforeAll(async () => {
  [svc, up] = await Promise.all([allInOne({ AUTH: 'token', TOKEN_SECRET: SECRET }), startUpstream({ protocols: ['chat'] })]);
}, 30_000);
afterAll(async () => {
  await Promise.all([svc?.close(), up?.close()]);
});

/** Every behaviour in one page of `engine`, with `mode`'s WebSocket. */
async function run(engine: Engine, pages: PageServer, mode: Mode): Promise<Record<string, Result>> {
  const token = mintToken(SECRET, {
    targets: ['ws://127.0.0.1:*', 'wss://127.0.0.1:*', 'ws://example.invalid:*', 'wss://example.invalid:*'],
    origins: [pages.origin],
  });
  const before = {
    native: '',
    polyfill: '<script>delete window.WebSocket;</script>',
    'polyfill without URL': '<script>delete window.WebSocket; delete window.URL;</script>',
    'fallback, native path': '',
    // what polysocket.js stores once the tunnel opened where native did not (docs/CLIENT.md)
    'fallback, tunnel path': `<script>localStorage.setItem(${JSON.stringify(`polysocket.fallback ${svc.base}`)},
      String(Date.now() + 600000));</script>`,
  }[mode];
  const page = await engine.newPage();
  try {
    await page.goto(
      pages.serve(
        `<!doctype html><html><head><meta charset="utf-8"></head><body>${before}
<script src="${svc.base}/polysocket.js" data-router="${svc.base}" data-token="${token}"></script></body></html>`,
      ),
    );
    const results: Record<string, Result> = {};
    for (const [name, body] of BEHAVIOURS) {
      results[name] = await page.evaluate(
        async ([src, url, native]) => {
          const W = native ? (window as any).PolySocket.Native : (window as any).WebSocket;
          try {
            const fn = new Function('W', 'url', `return (async function () { ${src} })();`);
            const timeout = new Promise((r) => setTimeout(() => r('timeout'), 8000));
            return (await Promise.race([fn(W, url), timeout])) as Result;
          } catch (e: any) {
            return `threw ${e.name}: ${e.message}`;
          }
        },
        [body, up.url, mode === 'native'] as const,
      );
    }
    return results;
  } finally {
    await page.close();
  }
}

/** A result as docs/CLIENT.md's behaviour table shows it. */
const cell = (r: Result): string => (r === true ? '✓' : r === false ? '✗' : `✗ ${r}`);

/** docs/CLIENT.md's behaviour table: behaviour → its cells (Chromium native, polyfill, Firefox …, WebKit …). */
function documentedTable(): Map<string, string[]> {
  const doc = readFileSync(path.resolve(__dirname, '../../docs/CLIENT.md'), 'utf8');
  const rows = new Map<string, string[]>();
  for (const line of doc.split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    // | behaviour | six cells |
    if (cells.length === 9 && BEHAVIOURS.some(([b]) => b === cells[1])) rows.set(cells[1], cells.slice(2, 8));
  }
  return rows;
}

describe.each(enginesToRun(ALL_ENGINES))('%s', (name) => {
  let engine: Engine;
  let pages: PageServer;
  const results = {} as Record<Mode, Record<string, Result>>;

  beforeAll(async () => {
    engine = await launchEngine(name);
    pages = await startPageServer({ prelude: engine.prelude });
    for (const mode of MODES) results[mode] = await run(engine, pages, mode);
    const passed = (r: Record<string, Result>) => Object.keys(r).filter((k) => r[k] === true).length;
    console.log(
      `WebSocket behaviours in ${engine.version} (${BEHAVIOURS.length}): native ${passed(results.native)}, ` +
        `polyfill ${passed(results.polyfill)}, polyfill with its own URL parser ${passed(results['polyfill without URL'])}, ` +
        `fallback mode: native path ${passed(results['fallback, native path'])}, tunnel path ${passed(results['fallback, tunnel path'])}`,
    );
  }, 240_000);
  afterAll(async () => {
    await engine?.close();
    await pages?.close();
  });

  test("docs/CLIENT.md's behaviour table shows this engine's results, native and polyfill", () => {
    const column = ALL_ENGINES.indexOf(name) * 2;
    const documented = documentedTable();
    const shown = BEHAVIOURS.map(([b]) => [b, ...(documented.get(b) ?? ['missing', 'missing']).slice(column, column + 2)]);
    // the polyfill's cell holds for both URL modes: where they differ the table cannot say one thing
    const polyfill = (b: string) =>
      results.polyfill[b] === results['polyfill without URL'][b] ? cell(results.polyfill[b]) : 'URL modes differ';
    expect(shown).toEqual(BEHAVIOURS.map(([b]) => [b, cell(results.native[b]), polyfill(b)]));
  });

  test.each(BEHAVIOURS.map(([behaviour]) => behaviour))('%s, in fallback mode on both paths', (behaviour) => {
    const native = results.native[behaviour];
    const seen = { native: results['fallback, native path'][behaviour], tunnel: results['fallback, tunnel path'][behaviour] };
    // on either path the page's socket behaves as the browser's own; where the browser's own misses
    // a behaviour, as the polyfill does (the native path passes through what the browser does)
    const differs = NATIVE_DIFFERS[name][behaviour];
    if (CANNOT.includes(behaviour)) expect(native).toBe(true);
    else if (differs) expect(seen.tunnel).toBe(differs.polyfill);
    else expect(seen).toEqual({ native: true, tunnel: true });
  });

  test.each(BEHAVIOURS.map(([behaviour]) => behaviour))('%s', (behaviour) => {
    const seen = {
      native: results.native[behaviour],
      polyfill: results.polyfill[behaviour],
      legacy: results['polyfill without URL'][behaviour],
    };
    const differs = NATIVE_DIFFERS[name][behaviour];
    if (differs) {
      expect(seen).toEqual({ native: differs.native, polyfill: differs.polyfill, legacy: differs.polyfill });
    } else if (CANNOT.includes(behaviour)) {
      expect(seen.native).toBe(true);
    } else {
      expect(seen).toEqual({ native: true, polyfill: true, legacy: true });
    }
  });
});
