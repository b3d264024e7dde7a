/**
 * polysocket.js: the WHATWG WebSocket interface, over long-polling where WebSocket does not work.
 *   <script src=".../polysocket.js">     window.PolySocket (and window.WebSocket where there is none)
 *   import PolySocket from 'polysocket/client'   the same, as an ES module
 *   const PolySocket = require('polysocket/client')   CommonJS (undefined outside a browser)
 */
export interface PolySocketConfig {
  /** router base URL, e.g. https://router.example.com (default: where polysocket.js was loaded from) */
  router?: string;
  /** the token for /create, or a function giving one (sync, or taking a callback) fresh per socket */
  token?: string | (() => string) | ((done: (token: string) => void) => void);
  /** use the long-poll tunnel even where native WebSocket exists (and install it as window.WebSocket) */
  force?: boolean;
  /** always send with JSONP GET, never cross-origin POST (and long-poll) */
  forceJsonp?: boolean;
  /**
   * receive over a stream where the browser can read one as it arrives (CORS XHR), default true;
   * false: long-poll (docs/CLIENT.md, "Receive paths")
   */
  stream?: boolean;
  /** ms a stream's prelude may take (at least; 4 create round trips if longer) before the page long-polls (default 2000) */
  streamPrelude?: number;
  /**
   * fallback mode (default true): where the browser has WebSocket, try it first and go on over the
   * tunnel if it fails before open or is not open within `fallbackAfter`; false hands back the
   * browser's own WebSocket as it is
   */
  fallback?: boolean;
  /** ms a native attempt may take to open before the tunnel takes over (default 3000) */
  fallbackAfter?: number;
  /** ms this browser remembers that a router's sockets need the tunnel (default 3600000; 0: this page only) */
  remember?: number;
  /** long-poll wait in ms (the relay caps it) */
  ttl?: number;
  /** longest URL to build (IE: 2,083) */
  urlLimit?: number;
  createTimeout?: number;
  /** ms of failed requests after which the socket is reported closed (1006) */
  giveUp?: number;
  /** most bytes of queued sends in one POST */
  batchBytes?: number;
  /** most sends in one request */
  batchItems?: number;
}

export interface PolySocketOptions {
  force?: boolean;
  /** this socket's fallback mode (default: the configured one) */
  fallback?: boolean;
}

/**
 * What `new PolySocket(...)` gives: in fallback mode (the default) one object over either path,
 * with `transport` and `errorCode`; the tunnel where `force` is on or the browser has no
 * WebSocket; the browser's own WebSocket, as it is, with `fallback: false`. All are WebSockets.
 */
export type PolySocketInstance = WebSocket & {
  /**
   * The path: 'websocket' (the browser's own, in fallback mode; it turns 'polling' if the attempt
   * fails before open) or 'polling' (the tunnel); undefined on a bare native WebSocket
   */
  readonly transport?: 'websocket' | 'polling';
  /**
   * Why the tunnel failed, once it has: an error code of the service (`token_invalid`,
   * `target_not_allowed`, `no_relay`, ...; see docs/CLIENT.md) or `connection_lost`; null until
   * then (undefined on a native WebSocket). The `error` event carries the same in `message`.
   */
  readonly errorCode?: string | null;
  /**
   * How the tunnel receives: 'stream' (one streamed answer at a time) or 'poll' (long-polling,
   * where the browser cannot read a stream, the page is JSONP-only, or a proxy buffered a stream);
   * null until the tunnel opened and on the native path (undefined on a native WebSocket)
   */
  readonly receive?: 'stream' | 'poll' | null;
};

export interface PolySocketConstructor {
  new (url: string | URL, protocols?: string | string[], options?: PolySocketOptions): PolySocketInstance;
  readonly prototype: PolySocketInstance;
  readonly CONNECTING: 0;
  readonly OPEN: 1;
  readonly CLOSING: 2;
  readonly CLOSED: 3;
  readonly version: string;
  /** the browser's own WebSocket, if it has one */
  readonly Native: typeof WebSocket | undefined;
  configure(config: PolySocketConfig): void;
}

declare const PolySocket: PolySocketConstructor;
export default PolySocket;
export { PolySocket };

declare global {
  interface Window {
    PolySocket: PolySocketConstructor;
    POLYSOCKET_CONFIG?: PolySocketConfig;
  }
}
