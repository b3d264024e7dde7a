/*! polysocket.js @VERSION@ | MIT | a WebSocket for every browser */
/*
 * Hand-kept ECMAScript 3: it must parse in IE 6. No trailing commas, no reserved words as
 * property names, no getters, no Array#forEach/indexOf, no JSON without a fallback.
 * The wire protocol is docs/PROTOCOL.md.
 */
(function (root, factory) {
  // One body, three ways in: a script tag (window.PolySocket), CommonJS and AMD. The ES module
  // build (polysocket.mjs) wraps the same body. Outside a browser there is nothing to make.
  if (typeof module === 'object' && module && module.exports) {
    module.exports = typeof window === 'undefined' ? undefined : factory(window, document);
  } else if (typeof define === 'function' && define.amd) {
    define([], function () {
      return factory(window, document);
    });
  } else {
    factory(root, root.document);
  }
})(this, function (window, document) {
  var VERSION = '@VERSION@';
  var FROM = 'polysocket.js-' + VERSION;
  // Captured at load, so a page (or a test clock) that swaps them later does not break sockets.
  var setT = window.setTimeout;
  var clearT = window.clearTimeout;
  var Native = window.WebSocket || window.MozWebSocket;
  var hasBlob = typeof window.Blob === 'function' || typeof window.Blob === 'object';
  var hasTyped = typeof window.Uint8Array !== 'undefined' && typeof window.ArrayBuffer !== 'undefined';

  var CONNECTING = 0;
  var OPEN = 1;
  var CLOSING = 2;
  var CLOSED = 3;

  var cfg = {
    router: '',
    token: '',
    force: false,
    // send with JSONP GETs only, never a cross-origin POST (pages whose CSP or proxy refuses CORS)
    forceJsonp: false,
    // receive over a stream where the browser can read one (CORS XHR); false: long-poll
    stream: true,
    // a stream whose prelude has not come by then (at least this, or 4 create round trips) is
    // being buffered by a proxy: this router's sockets long-poll (docs/CLIENT.md)
    streamPrelude: 2000,
    // try the native WebSocket first and go on over the tunnel if it fails before open (a proxy
    // that kills the upgrade); false: hand back the native WebSocket as it is
    fallback: true,
    // a native attempt not open by then goes over the tunnel (a proxy that holds the upgrade
    // silent); far above a native open on a 300 ms round trip through a proxy (docs/CLIENT.md)
    fallbackAfter: 3000,
    // how long a browser remembers that this router's sockets need the tunnel (ms)
    remember: 3600000,
    ttl: 25000,
    // IE cuts URLs at 2,083 characters; stay under with room for the host.
    urlLimit: 2000,
    createTimeout: 20000,
    giveUp: 30000,
    batchBytes: 65536,
    // most sends in one batched request (the relay's MAX_BATCH_SENDS defaults to 500)
    batchItems: 500
  };

  // The Fetch standard's bad ports (shared/bad-ports.ts holds the relay's copy; a test keeps them equal).
  var BAD_PORTS = ',' +
    '0,1,7,9,11,13,15,17,19,20,21,22,23,25,37,42,43,53,69,77,79,87,95,101,102,103,104,109,110,111,113,' +
    '115,117,119,123,135,137,139,143,161,179,389,427,465,512,513,514,515,526,530,531,532,540,548,554,556,' +
    '563,587,601,636,989,990,993,995,1719,1720,1723,2049,3659,4045,4190,5060,5061,6000,6566,6665,6666,' +
    '6667,6668,6669,6679,6697,10080,';

  function later(fn, ms) {
    return setT(fn, ms);
  }

  var P = window.Promise;
  var microtask = P && typeof P.resolve === 'function' ? function (fn) {
    P.resolve().then(fn);
  } : null;

  function noop() {}

  function merge(into, from) {
    for (var k in from) {
      if (Object.prototype.hasOwnProperty.call(from, k) && from[k] !== undefined && from[k] !== null) into[k] = from[k];
    }
  }

  /* ---------- configuration: script tag, then a global, then configure() ---------- */

  (function readConfig() {
    var scripts = document.getElementsByTagName('script');
    var me = scripts[scripts.length - 1];
    var src = me && me.getAttribute('src');
    if (src) {
      var m = /^(https?:\/\/[^\/?#]+)/i.exec(src);
      if (m) cfg.router = m[1];
    }
    if (me && me.getAttribute('data-router')) cfg.router = me.getAttribute('data-router');
    if (me && me.getAttribute('data-token')) cfg.token = me.getAttribute('data-token');
    if (me && me.getAttribute('data-force') === 'true') cfg.force = true;
    if (me && me.getAttribute('data-fallback') === 'off') cfg.fallback = false;
    if (window.POLYSOCKET_CONFIG) merge(cfg, window.POLYSOCKET_CONFIG);
    if (!cfg.router && window.location) cfg.router = window.location.protocol + '//' + window.location.host;
  })();

  /* ---------- small codecs ---------- */

  function query(params) {
    var out = [];
    for (var k in params) {
      if (Object.prototype.hasOwnProperty.call(params, k) && params[k] !== undefined && params[k] !== null) {
        out.push(k + '=' + encodeURIComponent(params[k]));
      }
    }
    return out.join('&');
  }

  function utf8Length(s) {
    var n = 0;
    for (var i = 0; i < s.length; i++) {
      var c = s.charCodeAt(i);
      if (c < 0x80) n += 1;
      else if (c < 0x800) n += 2;
      else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
        n += 4;
        i++;
      } else n += 3;
    }
    return n;
  }

  var B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  var B64INDEX = {};
  for (var bi = 0; bi < 64; bi++) B64INDEX[B64.charAt(bi)] = bi;

  function toBase64(bytes) {
    var out = [];
    var i = 0;
    var len = bytes.length;
    for (; i + 2 < len; i += 3) {
      var t = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
      out.push(B64.charAt(t >> 18) + B64.charAt((t >> 12) & 63) + B64.charAt((t >> 6) & 63) + B64.charAt(t & 63));
    }
    if (len - i === 1) {
      var a = bytes[i] << 16;
      out.push(B64.charAt(a >> 18) + B64.charAt((a >> 12) & 63) + '==');
    } else if (len - i === 2) {
      var b = (bytes[i] << 16) | (bytes[i + 1] << 8);
      out.push(B64.charAt(b >> 18) + B64.charAt((b >> 12) & 63) + B64.charAt((b >> 6) & 63) + '=');
    }
    return out.join('');
  }

  function fromBase64(s) {
    var pad = s.charAt(s.length - 1) === '=' ? (s.charAt(s.length - 2) === '=' ? 2 : 1) : 0;
    var len = (s.length / 4) * 3 - pad;
    var bytes = hasTyped ? new window.Uint8Array(len) : [];
    var j = 0;
    for (var i = 0; i < s.length; i += 4) {
      var t = (B64INDEX[s.charAt(i)] << 18) | (B64INDEX[s.charAt(i + 1)] << 12) |
        ((B64INDEX[s.charAt(i + 2)] || 0) << 6) | (B64INDEX[s.charAt(i + 3)] || 0);
      if (j < len) bytes[j++] = (t >> 16) & 255;
      if (j < len) bytes[j++] = (t >> 8) & 255;
      if (j < len) bytes[j++] = t & 255;
    }
    return bytes;
  }

  function parseJson(text) {
    if (window.JSON && window.JSON.parse) return window.JSON.parse(text);
    // Only our own relay's answers come here (IE 7 and older have no JSON).
    return (new Function('return (' + text + ');'))();
  }

  function domError(name, message) {
    var e;
    try {
      e = new window.DOMException(message, name);
    } catch (ignore) {
      e = new Error(message);
      e.name = name;
    }
    return e;
  }

  /* ---------- JSONP: one script per request, removed after it ran; no growing callback map ---------- */

  var jsonpSeq = 0;
  var callbacks = {};

  function jsonp(url, timeoutMs, done) {
    var id = 'c' + ++jsonpSeq;
    var script = document.createElement('script');
    var finished = false;
    var head = document.getElementsByTagName('head')[0] || document.documentElement;
    function remove() {
      script.onload = script.onerror = script.onreadystatechange = null;
      if (script.parentNode) script.parentNode.removeChild(script);
    }
    function finish(err, data) {
      if (finished) return;
      finished = true;
      clearT(timer);
      done(err, data);
    }
    var timer = later(function () {
      // A late answer must still find a function; it is deleted once its script has run.
      callbacks[id] = noop;
      remove();
      finish('timeout');
    }, timeoutMs);
    callbacks[id] = function (data) {
      delete callbacks[id];
      // Removed while it runs (engine.io-client does the same): the next request may start
      // from inside `done`, and the page keeps one element per request in flight, not two.
      remove();
      finish(null, data);
    };
    script.onload = script.onerror = function () {
      remove();
      if (callbacks[id] === noop) delete callbacks[id];
      if (!finished) {
        delete callbacks[id];
        finish('error');
      }
    };
    script.onreadystatechange = function () {
      // IE 6-8: no onerror; a failed load is left to the timer.
      if (script.readyState === 'loaded' || script.readyState === 'complete') {
        if (finished) remove();
      }
    };
    script.charset = 'UTF-8';
    script.async = true;
    script.src = url + (url.indexOf('?') < 0 ? '?' : '&') + 'cb=PolySocket._j.' + id;
    head.insertBefore(script, head.firstChild);
  }

  var loaded = document.readyState === 'complete';
  var onLoad = [];
  function markLoaded() {
    if (loaded) return;
    loaded = true;
    for (var i = 0; i < onLoad.length; i++) onLoad[i]();
    onLoad = [];
  }
  if (!loaded) {
    if (window.addEventListener) window.addEventListener('load', markLoaded, false);
    else if (window.attachEvent) window.attachEvent('onload', markLoaded);
  }

  function whenLoaded(fn) {
    if (loaded) fn();
    else onLoad.push(fn);
  }

  /* ---------- cross-origin POST: CORS XHR, or XDomainRequest in IE 8/9 ---------- */

  var corsXhr = (function () {
    try {
      return !!window.XMLHttpRequest && 'withCredentials' in new window.XMLHttpRequest();
    } catch (e) {
      return false;
    }
  })();

  function canPost(base) {
    if (cfg.forceJsonp) return false;
    if (corsXhr) return true;
    // XDomainRequest only talks to the page's own scheme.
    return !!window.XDomainRequest && base.indexOf(window.location.protocol) === 0;
  }

  /** Where a stream can be read as it arrives: CORS XHR (readyState 3 with the text so far), not JSONP-only. */
  function canStream(base) {
    return cfg.stream !== false && !cfg.forceJsonp && corsXhr && canPost(base);
  }

  // routers whose streams a proxy buffered, for this page: their later sockets long-poll at once
  var streamBuffered = {};

  // fetch with a body reader (and a way to abort it): its chunks reach the page as they arrive
  var FETCH_STREAM = (function () {
    try {
      return typeof window.fetch === 'function' && typeof window.ReadableStream === 'function' &&
        typeof window.TextDecoder === 'function' && typeof window.AbortController === 'function';
    } catch (e) {
      return false;
    }
  })();

  /**
   * Reads a streamed GET as it arrives: `onText(text)` for each piece, then `onEnd(status, text)`
   * once it is over (status 0: no answer; a status other than 200 with the whole answer's text).
   * Returns an abort. By fetch where the browser reads bodies as streams; else by CORS XHR, whose
   * progress Chromium hands the page at most every 50 ms (docs/CLIENT.md, "Receive paths").
   */
  function streamGet(url, onText, onEnd) {
    var over = false;
    function end(status, text) {
      if (over) return;
      over = true;
      onEnd(status, text);
    }
    if (FETCH_STREAM) {
      var controller = new window.AbortController();
      var failed = function () {
        end(0, '');
      };
      // a GET, CORS, no cookies cross-origin: fetch's defaults, as the XHR's
      window.fetch(url, { cache: 'no-store', signal: controller.signal })
        .then(function (res) {
          if (over) return;
          if (res.status !== 200 || !res.body) {
            return res.text().then(function (text) {
              end(res.status, text);
            }, failed);
          }
          var reader = res.body.getReader();
          var decoder = new window.TextDecoder('utf-8');
          var pump = function () {
            reader.read().then(function (chunk) {
              if (over) return;
              if (chunk.done) return end(200, '');
              onText(decoder.decode(chunk.value, { stream: true }));
              if (!over) pump();
            }, failed);
          };
          pump();
        }, failed);
      return function () {
        over = true;
        controller.abort();
      };
    }
    var req = new window.XMLHttpRequest();
    var seen = 0;
    req.open('GET', url, true);
    req.onreadystatechange = function () {
      if (over || req.readyState < 3) return;
      if (req.readyState === 4 && req.status !== 200) return end(req.status, req.responseText);
      var text = req.responseText || '';
      if (text.length > seen) {
        var chunk = text.substring(seen);
        seen = text.length;
        onText(chunk);
      }
      if (req.readyState === 4) end(200, '');
    };
    req.send(null);
    return function () {
      over = true;
      req.onreadystatechange = noop;
      try {
        req.abort();
      } catch (ignore) {}
    };
  }

  function post(url, body, timeoutMs, done) {
    request('POST', url, body, timeoutMs, done);
  }

  /**
   * A cross-origin request by CORS XHR (or XDomainRequest in IE 8/9), answered with JSON (an error
   * answer too). GETs carry no Content-Type, so neither kind needs a preflight.
   */
  function request(method, url, body, timeoutMs, done) {
    var finished = false;
    var timer;
    function finish(err, data) {
      if (finished) return;
      finished = true;
      clearT(timer);
      done(err, data);
    }
    function answer(text) {
      var data;
      try {
        data = parseJson(text);
      } catch (e) {
        return finish('error');
      }
      finish(null, data);
    }
    timer = later(function () {
      try {
        req.abort();
      } catch (ignore) {}
      finish('timeout');
    }, timeoutMs);
    var req;
    if (corsXhr) {
      req = new window.XMLHttpRequest();
      req.open(method, url, true);
      if (body !== null) req.setRequestHeader('Content-Type', 'text/plain');
      req.onreadystatechange = function () {
        if (req.readyState !== 4) return;
        req.onreadystatechange = noop;
        // 0 = no answer; 5xx from a proxy has no JSON either: both are worth a retry.
        if (req.status === 0 || (req.status >= 500 && !/^\s*\{/.test(req.responseText))) finish('error');
        else answer(req.responseText);
      };
    } else {
      req = new window.XDomainRequest();
      req.onload = function () {
        answer(req.responseText);
      };
      req.onerror = req.ontimeout = function () {
        finish('error');
      };
      req.onprogress = noop;
      req.open(method, url);
    }
    req.send(body);
  }

  /* ---------- what this browser has ---------- */

  // ES5 accessors on plain objects (IE 9 and up): read-only attributes, checked setters.
  var ACCESSORS = (function () {
    try {
      var o = {};
      window.Object.defineProperty(o, 'x', {
        get: function () {
          return 1;
        }
      });
      return o.x === 1;
    } catch (e) {
      return false;
    }
  })();
  // A constructible EventTarget and event constructors: the socket is a real EventTarget.
  var NATIVE_ET = (function () {
    try {
      var target = window.Reflect.construct(window.EventTarget, []);
      return ACCESSORS && !!target && !!new window.CloseEvent('close') && !!new window.MessageEvent('m');
    } catch (e) {
      return false;
    }
  })();
  var HAS_URL = (function () {
    try {
      return new window.URL('ws://a/b').href === 'ws://a/b';
    } catch (e) {
      return false;
    }
  })();

  /** Sets a WebSocket attribute: behind its accessor where there are accessors, plainly elsewhere. */
  function set(ws, name, value) {
    ws['_' + name] = value;
    if (!ACCESSORS) ws[name] = value;
  }

  /**
   * The WebSocket constructor's URL steps: parse (relative to the page), turn http(s) into ws(s),
   * serialise. With the browser's URL where it has one; elsewhere (old IE) a small parser that
   * resolves through an <a> element and serialises the common cases the same way.
   */
  function parseUrl(input) {
    if (HAS_URL) {
      var u;
      try {
        u = new window.URL(input, document.baseURI || window.location.href);
      } catch (e) {
        return null;
      }
      if (u.protocol === 'http:') u.protocol = 'ws:';
      else if (u.protocol === 'https:') u.protocol = 'wss:';
      var hash = u.href.indexOf('#');
      return { href: u.href, scheme: u.protocol, port: u.port, fragment: hash >= 0 ? u.href.slice(hash) : '' };
    }
    var a = document.createElement('a');
    a.href = input;
    var m = /^([a-zA-Z][a-zA-Z0-9+.\-]*):\/\/([^\/?#]*)([^#]*)(#.*)?$/.exec(a.href || input);
    if (!m) return null;
    var scheme = m[1].toLowerCase() + ':';
    if (scheme === 'http:') scheme = 'ws:';
    else if (scheme === 'https:') scheme = 'wss:';
    var hp = /^(\[[0-9a-fA-F:.]+\]|[^:\[\]]*)(?::(\d*))?$/.exec(m[2]);
    if (!hp || !hp[1] || /[\s<>\\^`{|}%]/.test(hp[1])) return null;
    var port = hp[2] || '';
    if (port !== '' && Number(port) > 65535) return null;
    if ((scheme === 'ws:' && Number(port) === 80) || (scheme === 'wss:' && Number(port) === 443)) port = '';
    else if (port !== '') port = String(Number(port));
    var rest = m[3] || '/';
    if (rest.charAt(0) !== '/') rest = '/' + rest;
    rest = usv(rest).replace(/[^\x21-\x7e]/g, function (c) {
      return encodeURIComponent(c);
    });
    var href = scheme + '//' + hp[1].toLowerCase() + (port ? ':' + port : '') + rest + (m[4] || '');
    return { href: href, scheme: scheme, port: port, fragment: m[4] || '' };
  }

  /* ---------- events ---------- */

  function fire(ws, type, ev) {
    if (NATIVE_ET) {
      var e;
      if (type === 'message') e = new window.MessageEvent('message', { data: ev.data, origin: ev.origin, lastEventId: '' });
      else if (type === 'close') e = new window.CloseEvent('close', { code: ev.code, reason: ev.reason, wasClean: ev.wasClean });
      else {
        e = new window.Event(type);
        if (ev.message !== undefined) {
          e.message = ev.message;
          e.code = ev.code;
        }
      }
      ws.dispatchEvent(e);
      return;
    }
    ev.type = type;
    ev.target = ev.currentTarget = ev.srcElement = ws;
    ev.timeStamp = new Date().getTime();
    var handler = ACCESSORS ? ws['_on' + type] : ws['on' + type];
    if (typeof handler === 'function') safeCall(handler, ws, ev);
    var list = ws._l[type];
    if (!list) return;
    list = list.slice();
    for (var i = 0; i < list.length; i++) {
      var fn = list[i];
      if (typeof fn === 'function') safeCall(fn, ws, ev);
      else if (fn && typeof fn.handleEvent === 'function') safeCall(fn.handleEvent, fn, ev);
    }
  }

  // A throwing handler must not break the poll loop (messages would stall); report it async.
  function safeCall(fn, self, ev) {
    try {
      fn.call(self, ev);
    } catch (e) {
      later(function () {
        throw e;
      }, 0);
    }
  }

  /* ---------- remembered fallbacks: per router, this page and (for a while) later ones ---------- */

  var STORE_KEY = 'polysocket.fallback ';
  var pageFellBack = {};

  function storage() {
    // reading localStorage throws where the page may not use it (sandboxed frames, some privacy modes)
    try {
      return window.localStorage || window.sessionStorage || null;
    } catch (e) {
      return null;
    }
  }

  /** True while this router's sockets are known to need the tunnel in this browser. */
  function fellBack(router) {
    if (pageFellBack['$' + router]) return true;
    var store = storage();
    if (!store) return false;
    try {
      var until = Number(store.getItem(STORE_KEY + router));
      return until > new Date().getTime();
    } catch (e) {
      return false;
    }
  }

  function rememberFallback(router) {
    pageFellBack['$' + router] = true;
    var store = storage();
    if (!store || !(cfg.remember > 0)) return;
    try {
      store.setItem(STORE_KEY + router, String(new Date().getTime() + cfg.remember));
    } catch (e) {
      // full or refused: this page still remembers
    }
  }

  /* ---------- the socket ---------- */

  var TOKEN_RE = /^[!#$%&'*+\-.\^_`|~0-9A-Za-z]+$/;

  function PolySocket(url, protocols, options) {
    if (!(this instanceof PolySocket)) throw new TypeError("Failed to construct 'WebSocket': Please use the 'new' operator");
    if (arguments.length === 0) {
      throw new TypeError("Failed to construct 'WebSocket': 1 argument required, but only 0 present.");
    }
    options = options || {};
    var force = options.force || cfg.force;
    var fallback = options.fallback === undefined ? cfg.fallback : options.fallback;
    var viaNative = !force && !!Native && Native !== PolySocket;
    if (viaNative && !fallback) {
      return protocols === undefined ? new Native(url) : new Native(url, protocols);
    }
    var parsed = parseUrl(String(url));
    if (!parsed) throw domError('SyntaxError', "Failed to construct 'WebSocket': The URL '" + url + "' is invalid.");
    if (parsed.scheme !== 'ws:' && parsed.scheme !== 'wss:') {
      throw domError('SyntaxError', "Failed to construct 'WebSocket': The URL's scheme must be either 'http', 'https', 'ws', or 'wss'. '" +
        parsed.scheme + "' is not allowed.");
    }
    if (parsed.fragment) {
      throw domError('SyntaxError', "Failed to construct 'WebSocket': The URL contains a fragment identifier ('" + parsed.fragment +
        "'). Fragment identifiers are not allowed in WebSocket URLs.");
    }
    var list = protocols === undefined ? [] : typeof protocols === 'string' ? [protocols] : protocols;
    var seen = {};
    for (var i = 0; i < list.length; i++) {
      if (!TOKEN_RE.test(list[i]) || seen['$' + list[i]]) {
        throw domError('SyntaxError', "Failed to construct 'WebSocket': The subprotocol '" + list[i] + "' is invalid.");
      }
      seen['$' + list[i]] = true;
    }
    // Where the browser has EventTarget, the socket is one (real events, real listeners).
    var self = NATIVE_ET ? window.Reflect.construct(window.EventTarget, [], PolySocket) : this;
    set(self, 'url', parsed.href);
    set(self, 'readyState', CONNECTING);
    set(self, 'protocol', '');
    set(self, 'extensions', '');
    set(self, 'bufferedAmount', 0);
    set(self, 'binaryType', hasBlob ? 'blob' : 'arraybuffer');
    // Native first unless this router's sockets are known to need the tunnel (a fallback remembered).
    var direct = viaNative && !fellBack(cfg.router);
    /** which path the socket takes: 'websocket' (the browser's own) or 'polling' (the tunnel) */
    self.transport = direct ? 'websocket' : 'polling';
    /** how the tunnel receives: 'stream' or 'poll' (long-polling); null until the tunnel opened, and on the native path */
    self.receive = null;
    /** why the socket failed (a /create, poll or send error code, or connection_lost); null while it has not */
    self.errorCode = null;
    if (!ACCESSORS) self.onopen = self.onmessage = self.onerror = self.onclose = null;
    self._l = {};
    // the wrappers that keep an event handler attribute's place among the listeners
    self._wopen = self._wmessage = self._werror = self._wclose = null;
    self._protocols = list;
    // the native WebSocket on the native path (the attempt, then the open socket); null on the tunnel
    self._ws = null;
    // the page called close() while the native attempt was connecting: its events are the page's
    self._closedEarly = false;
    // the tunnel took over from a failed native attempt: remembered once the tunnel opens
    self._fellBack = false;
    // the tunnel: sends not yet taken by the relay, their `n`, the poll's acknowledged seq
    self._queue = [];
    self._n = 0;
    self._ack = 0;
    // the tunnel's socket: its relay URL, id and the relay's run (for /alive)
    self._base = '';
    self._sid = '';
    self._run = '';
    // cross-origin POST (CORS or XDomainRequest) works towards this relay; else JSONP GETs
    self._post = false;
    self._sending = false;
    self._polling = false;
    // the open stream's abort (called when the socket ends), and the create's round trip in ms
    self._rx = null;
    // a stream asked to be renewed, still delivering until its successor reached the relay
    self._rxOld = null;
    self._createMs = 0;
    self._flushQueued = false;
    // since when requests have been failing (0: they are not), and whether /alive is being asked
    self._since = 0;
    self._watching = false;
    self._timers = {};
    // A bad port fails as a native socket does (error, then close 1006), without asking anyone.
    var bad = parsed.port !== '' && BAD_PORTS.indexOf(',' + Number(parsed.port) + ',') >= 0;
    later(function () {
      if (bad) self._gone(1006, '', 'target_forbidden_port');
      else if (direct) self._tryNative();
      else self._create();
    }, 0);
    return self;
  }

  if (NATIVE_ET) {
    PolySocket.prototype = window.Object.create(window.EventTarget.prototype);
    PolySocket.prototype.constructor = PolySocket;
  }
  var proto = PolySocket.prototype;

  /* Leaving the page: open sockets are closed at once (the relay closes the upstream with 1001
     "going away", as a browser does), by a request that needs no answer. */
  var live = [];
  function leave(base, sid) {
    var url = base + '/s/' + sid;
    var nav = window.navigator;
    if (nav && nav.sendBeacon && nav.sendBeacon(url, 't=l&from=' + encodeURIComponent(FROM))) return;
    var img = new window.Image();
    img.src = url + '?t=l&from=' + encodeURIComponent(FROM);
  }
  function onPageLeave() {
    var gone = live.slice(0);
    for (var i = 0; i < gone.length; i++) {
      var ws = gone[i];
      leave(ws._base, ws._sid);
      ws._finish();
    }
  }
  function onPageShow(e) {
    // back from the back/forward cache: what closed on leaving stays closed, and says so
    if (!e || !e.persisted) return;
    for (var i = 0; i < leftBehind.length; i++) fire(leftBehind[i], 'close', { code: 1006, reason: '', wasClean: false });
    leftBehind = [];
  }
  var leftBehind = [];
  // when the page last said it may be left (beforeunload), and how long that holds back retries
  var leavingAt = -Infinity;
  var LEAVING_MS = 3000;
  if (window.addEventListener) {
    // a beforeunload listener keeps no page out of the back/forward cache (an unload one would)
    window.addEventListener('beforeunload', function () {
      leavingAt = new Date().getTime();
    }, false);
    window.addEventListener('pagehide', function () {
      leftBehind = live.slice(0);
      onPageLeave();
    }, false);
    // pagehide, not unload: an unload listener would keep the page out of the back/forward cache
    window.addEventListener('pageshow', onPageShow, false);
  } else if (window.attachEvent) {
    window.attachEvent('onunload', onPageLeave);
  }
  var STATES = { CONNECTING: CONNECTING, OPEN: OPEN, CLOSING: CLOSING, CLOSED: CLOSED };
  for (var name in STATES) {
    if (ACCESSORS) {
      window.Object.defineProperty(PolySocket, name, { value: STATES[name], enumerable: true });
      window.Object.defineProperty(proto, name, { value: STATES[name], enumerable: true });
    } else PolySocket[name] = proto[name] = STATES[name];
  }

  /* Read-only attributes, a checked binaryType and event handler attributes, where ES5 allows. */
  function getter(name) {
    return {
      get: function () {
        // on the native path the browser's socket counts what it has not sent yet
        if (name === 'bufferedAmount' && this._ws) return this._ws.bufferedAmount;
        return this['_' + name];
      },
      enumerable: true,
      configurable: true
    };
  }
  function handlerAttribute(type) {
    var key = '_on' + type;
    var wrapper = '_w' + type;
    return {
      get: function () {
        return this[key] || null;
      },
      set: function (fn) {
        fn = typeof fn === 'function' ? fn : null;
        // An event handler keeps its place among the listeners while set; null takes it out.
        if (NATIVE_ET && fn && !this[wrapper]) {
          var self = this;
          this[wrapper] = function (e) {
            var h = self[key];
            return h ? h.call(self, e) : undefined;
          };
          this.addEventListener(type, this[wrapper]);
        } else if (NATIVE_ET && !fn && this[wrapper]) {
          this.removeEventListener(type, this[wrapper]);
          this[wrapper] = null;
        }
        this[key] = fn;
      },
      enumerable: true,
      configurable: true
    };
  }
  if (ACCESSORS) {
    var READONLY = ['url', 'readyState', 'protocol', 'extensions', 'bufferedAmount'];
    for (var r = 0; r < READONLY.length; r++) window.Object.defineProperty(proto, READONLY[r], getter(READONLY[r]));
    window.Object.defineProperty(proto, 'binaryType', {
      get: function () {
        return this._binaryType;
      },
      set: function (v) {
        if (v !== 'blob' && v !== 'arraybuffer') return;
        this._binaryType = v;
        if (this._ws) this._ws.binaryType = v;
      },
      enumerable: true,
      configurable: true
    });
    var EVENTS = ['open', 'message', 'error', 'close'];
    for (var h = 0; h < EVENTS.length; h++) window.Object.defineProperty(proto, 'on' + EVENTS[h], handlerAttribute(EVENTS[h]));
  }
  if (NATIVE_ET && window.Symbol && window.Symbol.toStringTag) {
    window.Object.defineProperty(proto, window.Symbol.toStringTag, { value: 'WebSocket', configurable: true });
  }
  PolySocket.version = VERSION;
  PolySocket.Native = Native;
  PolySocket._j = callbacks;
  PolySocket.configure = function (options) {
    merge(cfg, options || {});
  };

  if (!NATIVE_ET) {
    proto.addEventListener = function (type, fn) {
      var list = this._l[type] || (this._l[type] = []);
      for (var i = 0; i < list.length; i++) if (list[i] === fn) return;
      list.push(fn);
    };

    proto.removeEventListener = function (type, fn) {
      var list = this._l[type];
      if (!list) return;
      for (var i = 0; i < list.length; i++) {
        if (list[i] === fn) {
          list.splice(i, 1);
          return;
        }
      }
    };

    proto.dispatchEvent = function (ev) {
      fire(this, ev.type, ev);
      return true;
    };
  }

  proto.send = function (data) {
    if (arguments.length === 0) {
      throw new TypeError("Failed to execute 'send' on 'WebSocket': 1 argument required, but only 0 present.");
    }
    if (this._readyState === CONNECTING) {
      throw domError('InvalidStateError', "Failed to execute 'send' on 'WebSocket': Still in CONNECTING state.");
    }
    if (this._ws) return this._ws.send(data);
    var item;
    if (typeof data === 'string') {
      item = textItem(usv(data));
    } else if (hasTyped && data instanceof window.ArrayBuffer) {
      item = binaryItem(new window.Uint8Array(data));
    } else if (hasTyped && data && data.buffer instanceof window.ArrayBuffer && typeof data.byteLength === 'number') {
      item = binaryItem(new window.Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    } else if (hasBlob && data instanceof window.Blob) {
      item = { t: 'b', d: '', bytes: data.size, whole: data.size, pending: true };
      this._readBlob(item, data);
    } else {
      item = textItem(String(data));
    }
    // As the standard says: after close, sends only grow bufferedAmount.
    set(this, 'bufferedAmount', this._bufferedAmount + item.bytes);
    if (this._readyState !== OPEN) return;
    this._queue.push(item);
    this._flushSoon();
  };

  /**
   * Sends made in one task leave together: the first waits for the end of the task (a microtask,
   * where the browser has Promise) instead of leaving alone and holding the rest back for a round
   * trip. A lone send leaves as soon as the task ends, so an echo pays nothing for it.
   */
  proto._flushSoon = function () {
    var self = this;
    if (!microtask) return self._flush();
    if (self._flushQueued) return;
    self._flushQueued = true;
    microtask(function () {
      self._flushQueued = false;
      self._flush();
    });
  };

  // `whole`: the bytes bufferedAmount gets back once the relay took the (last chunk of the) message.
  /** WebIDL [Clamp] unsigned short: round half to even, clamp to 0..65535 (NaN is 0). */
  function clampUint16(x) {
    x = Number(x);
    if (x !== x) return 0;
    if (x <= 0) return 0;
    if (x >= 65535) return 65535;
    var f = Math.floor(x);
    var diff = x - f;
    return diff > 0.5 || (diff === 0.5 && f % 2 === 1) ? f + 1 : f;
  }

  /** A USVString: lone surrogates become U+FFFD, as the WebSocket API converts its strings. */
  function usv(s) {
    if (!/[\uD800-\uDFFF]/.test(s)) return s;
    var out = [];
    for (var i = 0; i < s.length; i++) {
      var c = s.charCodeAt(i);
      if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && s.charCodeAt(i + 1) >= 0xdc00 && s.charCodeAt(i + 1) <= 0xdfff) {
        out.push(s.charAt(i), s.charAt(++i));
      } else out.push(c >= 0xd800 && c <= 0xdfff ? '\uFFFD' : s.charAt(i));
    }
    return out.join('');
  }

  function textItem(s) {
    var bytes = utf8Length(s);
    return { t: 't', d: s, bytes: bytes, whole: bytes };
  }

  function binaryItem(bytes) {
    return { t: 'b', d: toBase64(bytes), bytes: bytes.length, whole: bytes.length };
  }

  proto._readBlob = function (item, blob) {
    var self = this;
    var reader = new window.FileReader();
    reader.onload = function () {
      item.d = toBase64(new window.Uint8Array(reader.result));
      item.pending = false;
      self._flush();
    };
    reader.onerror = function () {
      self._gone(1006, 'could not read the Blob to send', 'blob_unreadable');
    };
    reader.readAsArrayBuffer(blob);
  };

  proto.close = function (code, reason) {
    if (code !== undefined) code = clampUint16(code);
    if (code !== undefined && code !== 1000 && !(code >= 3000 && code <= 4999)) {
      throw domError('InvalidAccessError', "Failed to execute 'close' on 'WebSocket': " +
        'The close code must be either 1000, or between 3000 and 4999. ' + code + ' is neither.');
    }
    reason = reason === undefined ? '' : usv(String(reason));
    if (utf8Length(reason) > 123) {
      throw domError('SyntaxError', "Failed to execute 'close' on 'WebSocket': The message must not be greater than 123 bytes.");
    }
    if (this._readyState === CLOSING || this._readyState === CLOSED) return;
    if (this._ws) {
      // the native path: the browser's socket closes, and its events tell the page
      if (this._readyState === CONNECTING) this._closedEarly = true;
      set(this, 'readyState', CLOSING);
      clearT(this._timers.fallback);
      this._timers.fallback = null;
      if (code === undefined) this._ws.close();
      else this._ws.close(code, reason);
      return;
    }
    if (this._readyState === CONNECTING) {
      // Fails the connection at once, as a native socket does (error, then close 1006); if /create
      // answers later, the relay is told to let go of what it opened.
      var self = this;
      set(this, 'readyState', CLOSING);
      later(function () {
        self._gone(1006, '', 'closed_before_open');
      }, 0);
      return;
    }
    set(this, 'readyState', CLOSING);
    this._queue.push({ t: 'c', d: '', code: code, reason: code === undefined ? undefined : reason, bytes: 0, whole: 0 });
    this._flush();
  };

  /* ---------- the native path (fallback mode) ---------- */

  /**
   * Tries the browser's own WebSocket. Until it opens, its events are not the page's: a failure
   * (error or close before open, or no open within fallbackAfter) closes the attempt and the
   * same object goes on over the tunnel, so the page sees one open, or one error and one close.
   */
  proto._tryNative = function () {
    var self = this;
    var ws;
    try {
      ws = self._protocols.length ? new Native(self._url, self._protocols) : new Native(self._url);
    } catch (e) {
      // refused by the browser for what the tunnel does not care about (a page's CSP, say)
      return self._overTunnel();
    }
    self._ws = ws;
    ws.binaryType = self._binaryType;
    var opened = false;
    self._timers.fallback = later(function () {
      // silent too long: close the attempt (one upstream at a time), then tunnel
      self._timers.fallback = null;
      self._abandonNative();
    }, cfg.fallbackAfter);
    ws.onopen = function () {
      if (self._ws !== ws) return;
      opened = true;
      clearT(self._timers.fallback);
      self._timers.fallback = null;
      if (self._readyState !== CONNECTING) return; // closed by the page meanwhile: its close follows
      set(self, 'protocol', ws.protocol);
      set(self, 'extensions', ws.extensions);
      set(self, 'readyState', OPEN);
      fire(self, 'open', {});
    };
    ws.onmessage = function (e) {
      if (self._ws === ws) fire(self, 'message', { data: e.data, origin: e.origin });
    };
    ws.onerror = function () {
      if (self._ws === ws && (opened || self._closedEarly)) fire(self, 'error', {});
    };
    ws.onclose = function (e) {
      if (self._ws !== ws) return;
      if (!opened && !self._closedEarly) return self._abandonNative();
      self._finish();
      fire(self, 'close', { code: e.code, reason: e.reason, wasClean: e.wasClean });
    };
  };

  /** The native attempt failed: let it go, silently, and open the tunnel once it is gone. */
  proto._abandonNative = function () {
    var ws = this._ws;
    if (!ws || this._readyState === CLOSED) return;
    var self = this;
    clearT(self._timers.fallback);
    self._timers.fallback = null;
    if (ws.readyState === CLOSED) return self._overTunnel();
    // closing a connecting attempt ends with its close event, which takes the tunnel on from here;
    // a browser that never fires it is not waited for past a second
    ws.onclose = function () {
      self._overTunnel();
    };
    ws.onerror = ws.onmessage = ws.onopen = null;
    self._timers.abandon = later(function () {
      self._overTunnel();
    }, 1000);
    try {
      ws.close();
    } catch (e) {
      self._overTunnel();
    }
  };

  proto._overTunnel = function () {
    if (this._readyState === CLOSED || this.transport === 'polling') return;
    var ws = this._ws;
    if (ws) ws.onclose = ws.onerror = ws.onmessage = ws.onopen = null;
    clearT(this._timers.abandon);
    this._timers.abandon = null;
    this._ws = null;
    this._fellBack = true;
    this.transport = 'polling';
    this._create();
  };

  proto._create = function () {
    var self = this;
    var token = cfg.token;
    if (typeof token === 'function') {
      if (token.length > 0) {
        return token(function (t) {
          self._createWith(t);
        });
      }
      token = token();
    }
    self._createWith(token);
  };

  proto._createWith = function (token) {
    var self = this;
    var url = cfg.router.replace(/\/+$/, '') + '/create?' + query({
      from: FROM,
      target: self._url,
      protocols: self._protocols.length ? self._protocols.join(',') : undefined,
      token: token || undefined
    });
    var asked = new Date().getTime();
    jsonp(url, cfg.createTimeout, function (err, r) {
      self._createMs = new Date().getTime() - asked;
      if (self._readyState === CLOSED) {
        // closed while connecting (or the page left): the relay holds a socket nobody will use
        if (r && r.ok) leave(r.url, r.socket);
        return;
      }
      if (err || !r || !r.ok) {
        return self._gone(1006, '', r && r.error ? r.error : 'create_failed');
      }
      self._base = r.url;
      self._sid = r.socket;
      self._run = r.run || '';
      set(self, 'protocol', r.protocol || '');
      self._post = canPost(self._base);
      self.receive = canStream(self._base) && !streamBuffered['$' + cfg.router] ? 'stream' : 'poll';
      if (self._readyState === CLOSING) {
        // close() was called while connecting: release the relay's socket, fail this one.
        self._request([{ t: 'c', d: '', n: 1 }], noop);
        return self._gone(1006, '', 'closed_before_open');
      }
      set(self, 'readyState', OPEN);
      live.push(self);
      // the tunnel got through where the native attempt did not: later sockets go straight to it
      if (self._fellBack) rememberFallback(cfg.router);
      fire(self, 'open', {});
      // A script pending before onload holds the page's load event (and the busy spinner) for a
      // whole poll: the first long-poll waits for load.
      whenLoaded(function () {
        self._receive(0);
      });
      self._flush();
    });
  };

  /* receiving: one stream or long-poll at a time, acking what arrived; a failed one is retried with the same ack */

  proto._receive = function (failures) {
    if (this.receive === 'stream') this._stream(failures);
    else this._poll(failures);
  };

  /**
   * Fires the messages of an answer (or a stream's line) in seq order, skipping seqs it has (an
   * answer thought lost, or a stream re-sending after one that was cut). False once the socket ended.
   */
  proto._take = function (msgs) {
    for (var i = 0; i < msgs.length; i++) {
      var m = msgs[i];
      if (m.seq) {
        if (m.seq <= this._ack) continue;
        this._ack = m.seq;
      }
      if (m.type === 'text') fire(this, 'message', { data: m.data, origin: this._origin(), lastEventId: '' });
      else if (m.type === 'binary') fire(this, 'message', { data: this._binary(m.data), origin: this._origin(), lastEventId: '' });
      else if (m.type === 'close') {
        // the relay keeps a closed socket until its close is acked: ack it now, expecting nothing back
        jsonp(this._base + '/j/' + this._sid + '?' + query({ ttl: 0, ack: m.seq, from: FROM }), 15000, noop);
        this._closed(m.code, m.reason);
        return false;
      }
      if (this._readyState === CLOSED) return false;
    }
    return true;
  };

  /**
   * docs/PROTOCOL.md §3.4: one streamed receive. Complete lines are read from the text so far as
   * it grows; when the relay ends the stream the next opens at once, with the ack. A prelude that
   * has not come within the bound means a proxy holds the answer until it is whole: the stream is
   * let go (what it would carry is re-sent) and this router's sockets long-poll from then on.
   */
  proto._stream = function (failures, renewal) {
    var self = this;
    if (self._readyState === CLOSED || (self._polling && !renewal)) return;
    self._polling = true;
    var buf = '';
    var prelude = false;
    var over = false;
    // asked to be renewed: the next stream is open, this one delivers until the relay ends it
    var retired = false;
    var heard = new Date().getTime();
    var stopGet = noop;
    var preludeTimer = null;
    var silentTimer = null;
    function end() {
      over = true;
      clearT(preludeTimer);
      clearT(silentTimer);
      if (self._rx === abort) {
        self._rx = null;
        self._polling = false;
      }
      if (self._rxOld === abort) self._rxOld = null;
    }
    function abort() {
      end();
      stopGet();
    }
    function toPolling() {
      streamBuffered['$' + cfg.router] = true;
      self.receive = 'poll';
      self._poll(0);
    }
    // Nothing at all, not even a heartbeat, for longer than the heartbeat interval and more: a
    // dead link. One timer per stream, checked when it fires, not re-armed per message.
    function watchSilence(ms) {
      silentTimer = later(function () {
        var quiet = new Date().getTime() - heard;
        if (quiet < cfg.ttl + 15000) return watchSilence(cfg.ttl + 15000 - quiet);
        abort();
        if (!retired) self._retry('_poll', failures);
      }, ms);
    }
    /** Takes one line: the prelude, or a batch; false once the stream was let go. */
    function line(text) {
      if (/^\s*$/.test(text)) {
        prelude = true;
        return true;
      }
      var r;
      try {
        r = parseJson(text);
      } catch (e) {
        // not a line of ours (a proxy's page, say): let the stream go and try again
        abort();
        if (!retired) self._retry('_poll', failures);
        return false;
      }
      self._since = 0;
      failures = 0;
      if (!r.ok) {
        abort();
        self._gone(1006, '', r.error);
        return false;
      }
      if (r.n) self._taken(r.n);
      if (!self._take(r.messages)) {
        abort();
        return false;
      }
      if (r.renew && !retired) {
        // the relay asks for the next stream: opened now, while this one goes on until it arrives
        retired = true;
        self._rxOld = abort;
        self._stream(0, true);
      }
      return true;
    }
    function onText(chunk) {
      if (over || self._readyState === CLOSED) return;
      heard = new Date().getTime();
      buf += chunk;
      var at = 0;
      var nl = buf.indexOf('\n');
      while (nl >= 0) {
        var text = buf.substring(at, nl);
        at = nl + 1;
        if (!line(text)) return;
        nl = buf.indexOf('\n', at);
      }
      buf = buf.substring(at);
    }
    function onEnd(status, text) {
      if (over || self._readyState === CLOSED) return;
      end();
      if (retired) return;
      if (status !== 200) {
        // an error is a whole JSON answer (docs/PROTOCOL.md §3.4); no answer, or a proxy's 5xx, is retried
        var answer = null;
        try {
          answer = status === 0 ? null : parseJson(text);
        } catch (e) {
          answer = null;
        }
        if (answer && answer.ok === false && status < 500) return self._gone(1006, '', answer.error);
        return self._retry('_poll', failures);
      }
      // the relay ended the stream: the next opens at once; one that ended without its prelude is no stream to use
      if (prelude) self._stream(0);
      else toPolling();
    }
    var url = self._base + '/j/' + self._sid + '?' + query({ stream: 1, ttl: cfg.ttl, ack: self._ack, from: FROM });
    preludeTimer = later(function () {
      if (prelude || over) return;
      abort();
      toPolling();
    }, Math.max(cfg.streamPrelude, 4 * self._createMs));
    watchSilence(cfg.ttl + 15000);
    self._rx = abort;
    stopGet = streamGet(url, onText, onEnd);
  };

  proto._poll = function (failures) {
    var self = this;
    if (self._readyState === CLOSED || self._polling) return;
    self._polling = true;
    var url = self._base + '/j/' + self._sid + '?' + query({ ttl: cfg.ttl, ack: self._ack, from: FROM });
    // Where sends go by CORS (or XDomainRequest), polls do too: a request costs a browser less than a script element.
    var get = self._post ? function (u, ms, done) { request('GET', u, null, ms, done); } : jsonp;
    get(url, cfg.ttl + 15000, function (err, r) {
      self._polling = false;
      if (self._readyState === CLOSED) return;
      if (err) return self._retry('_poll', failures);
      if (!r.ok) {
        return self._gone(1006, '', r.error);
      }
      self._since = 0;
      if (self._take(r.messages)) self._poll(0);
    });
  };

  proto._origin = function () {
    var m = /^(wss?:\/\/[^\/?#]+)/i.exec(this._url);
    return m ? m[1] : '';
  };

  proto._binary = function (b64) {
    var bytes = fromBase64(b64);
    if (!hasTyped) return bytes;
    if (this._binaryType === 'blob' && hasBlob) return new window.Blob([bytes]);
    return bytes.buffer;
  };

  /* sending: one request at a time, in order; batched; a failed request is retried with the same n */

  proto._flush = function () {
    var self = this;
    if (self._sending || !self._sid || self._readyState === CLOSED) return;
    var batch = self._nextBatch();
    if (!batch.length) return;
    self._sending = true;
    self._request(batch, function (err, r) {
      self._sending = false;
      if (self._readyState === CLOSED) return;
      if (err) return self._retry('_flush', 0);
      self._since = 0;
      // The relay no longer has the socket: the poll learns how it closed and reports that.
      if (!r.ok && r.error === 'unknown_socket') return;
      // Everything below the expected n was taken (all of the batch, when ok).
      self._taken(r.ok ? batch[batch.length - 1].n : (r.expected || 1) - 1);
      if (!r.ok) {
        return self._gone(r.error === 'message_too_large' || r.error === 'too_many_chunks' ? 1009 : 1006, '', r.error);
      }
      self._flush();
    });
  };

  /**
   * The relay took every send up to `n`: they leave the queue and bufferedAmount. Told by a send's
   * answer, or sooner by a stream's line (docs/PROTOCOL.md §3.4), as an echo can come before it.
   */
  proto._taken = function (n) {
    var q = this._queue;
    while (q.length && q[0].n && q[0].n <= n) set(this, 'bufferedAmount', this._bufferedAmount - q.shift().whole);
  };

  /** The sends for the next request: one chunk, or as many whole messages as fit. */
  proto._nextBatch = function () {
    var q = this._queue;
    if (!q.length || q[0].pending) return [];
    var batch = [];
    var size = 0;
    var limit = this._post ? cfg.batchBytes : cfg.urlLimit - this._base.length - this._sid.length - 120;
    for (var i = 0; i < q.length; i++) {
      if (q[i].pending) break;
      if (!this._post) this._split(i);
      var it = q[i];
      var cost = this._post ? it.d.length : it.enc;
      if (batch.length && (it.c || batch[0].c || size + cost > limit || batch.length >= cfg.batchItems)) break;
      if (!it.n) it.n = ++this._n;
      batch.push(it);
      size += cost;
      if (it.t === 'c' || it.c) break;
    }
    return batch;
  };

  /**
   * JSONP sends must fit a URL: split the message at index i into chunks (c=1 on all but the
   * last), text between characters, never inside a surrogate pair; base64 in blocks of 4.
   */
  proto._split = function (i) {
    var it = this._queue[i];
    if (it.enc !== undefined) return;
    var budget = cfg.urlLimit - this._base.length - this._sid.length - 160;
    var whole = it.whole;
    var pieces = [];
    if (it.t === 'b') {
      var step = Math.max(4, Math.floor(budget / 3 / 4) * 4);
      for (var p = 0; p < it.d.length; p += step) pieces.push(it.d.substring(p, p + step));
    } else if (it.t === 't') {
      var start = 0;
      var cost = 0;
      for (var k = 0; k < it.d.length; k++) {
        var ch = it.d.charAt(k);
        var code = it.d.charCodeAt(k);
        if (code >= 0xd800 && code <= 0xdbff && k + 1 < it.d.length) ch += it.d.charAt(++k);
        var c = encodeURIComponent(ch).length;
        if (cost + c > budget && k > start) {
          pieces.push(it.d.substring(start, k + 1 - ch.length));
          start = k + 1 - ch.length;
          cost = 0;
        }
        cost += c;
      }
      pieces.push(it.d.substring(start));
    }
    if (pieces.length <= 1) {
      it.enc = encodeURIComponent(it.d).length;
      return;
    }
    var chunks = [];
    for (var j = 0; j < pieces.length; j++) {
      var last = j === pieces.length - 1;
      chunks.push({ t: it.t, d: pieces[j], c: !last, enc: encodeURIComponent(pieces[j]).length, whole: last ? whole : 0 });
    }
    var args = [i, 1];
    for (var a = 0; a < chunks.length; a++) args.push(chunks[a]);
    Array.prototype.splice.apply(this._queue, args);
  };

  proto._request = function (batch, done) {
    var params = 'n=' + batch[0].n;
    for (var i = 0; i < batch.length; i++) params += '&t=' + batch[i].t + '&d=' + encodeURIComponent(batch[i].d);
    var last = batch[batch.length - 1];
    if (last.c) params += '&c=1';
    if (last.t === 'c' && last.code !== undefined) params += '&' + query({ code: last.code, reason: last.reason });
    params += '&from=' + encodeURIComponent(FROM);
    var url = this._base + '/s/' + this._sid;
    if (this._post) post(url, params, 30000, done);
    else jsonp(url + '?' + params, 30000, done);
  };

  /** Network trouble: back off and try again with the same ack / n, until giveUp has passed. */
  proto._retry = function (what, failures) {
    var self = this;
    var now = new Date().getTime();
    if (!self._since) self._since = now;
    if (now - self._since > cfg.giveUp) return self._gone(1006, '', 'connection_lost');
    var delay = Math.min(5000, 100 * Math.pow(2, failures || 0));
    // A navigation cancels the page's requests before its pagehide (Firefox does): asking again
    // then would start a request in a page being left, which holds the next page's load event.
    // So nothing is asked until the page is gone (pagehide ends the socket) or is seen to stay.
    var sinceLeaving = now - leavingAt;
    if (sinceLeaving < LEAVING_MS) delay = Math.max(delay, LEAVING_MS - sinceLeaving);
    clearT(self._timers[what]);
    self._timers[what] = later(function () {
      self._timers[what] = null;
      self._watchRelay();
      if (what === '_poll') self._receive((failures || 0) + 1);
      else self._flush();
    }, delay);
  };

  /**
   * While requests fail, ask the router whether the relay run holding this socket still lives
   * (docs/PROTOCOL.md §2.1): a killed relay is learned once its registration lapses (seconds),
   * not after giveUp. The router holds each question until the run dies or `wait` passes; one
   * question at a time, one a second at most, until a request succeeds.
   */
  proto._watchRelay = function () {
    var self = this;
    if (!self._run || self._watching) return;
    self._watching = true;
    var asked = new Date().getTime();
    jsonp(cfg.router.replace(/\/+$/, '') + '/alive?' + query({ run: self._run, wait: 5000 }), 20000, function (err, r) {
      if (self._readyState === CLOSED) return;
      if (!err && r && r.ok && r.alive === false) return self._gone(1006, '', 'relay_gone');
      self._timers._watch = later(function () {
        self._timers._watch = null;
        self._watching = false;
        if (self._since) self._watchRelay();
      }, Math.max(0, 1000 - (new Date().getTime() - asked)));
    });
  };

  proto._closed = function (code, reason) {
    this._finish();
    // an abnormal end (the upstream's connection dropped, or it sent what is not WebSocket) fails
    // the socket, as natively: error first
    if (code === 1006) fire(this, 'error', {});
    fire(this, 'close', { code: code, reason: reason || '', wasClean: code !== 1006 });
  };

  /** The socket is gone without a clean close (1006), or refused a message (1009). */
  /** Fails the socket: `error` names why (docs/CLIENT.md lists the codes), as a page can read it. */
  proto._gone = function (code, reason, error) {
    if (this._readyState === CLOSED) return;
    this._finish();
    this.errorCode = error || 'connection_lost';
    var message = 'polysocket: ' + this.errorCode + ' (' + this._url + ')';
    if (window.console && window.console.warn) window.console.warn(message);
    fire(this, 'error', { message: message, code: this.errorCode });
    fire(this, 'close', { code: code, reason: reason, wasClean: false });
  };

  proto._finish = function () {
    set(this, 'readyState', CLOSED);
    // the relay ends the stream too, after the close; a socket that failed or left lets it go now
    if (this._rx) this._rx();
    if (this._rxOld) this._rxOld();
    for (var i = 0; i < live.length; i++) if (live[i] === this) live.splice(i--, 1);
    for (var k in this._timers) if (this._timers[k]) clearT(this._timers[k]);
    this._timers = {};
  };

  window.PolySocket = PolySocket;
  // Polyfill mode: pages and unmodified libraries that say `new WebSocket` get a working one.
  // Fallback mode (the default) too: `new WebSocket` tries native first, then the tunnel.
  if (!Native || cfg.force || cfg.fallback) window.WebSocket = PolySocket;
  return PolySocket;
});
