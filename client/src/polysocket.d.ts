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
  /** always send with JSONP GET, never cross-origin POST */
  forceJsonp?: boolean;
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
}

/**
 * What `new PolySocket(...)` gives: the browser's own WebSocket where one works (and `force` is
 * off), else the tunnel, which adds `transport` and `errorCode`. Both are WebSockets.
 */
export type PolySocketInstance = WebSocket & {
  /** 'polling' for the tunnel; undefined on a native WebSocket */
  readonly transport?: 'polling';
  /**
   * Why the tunnel failed, once it has: an error code of the service (`token_invalid`,
   * `target_not_allowed`, `no_relay`, ...; see docs/CLIENT.md) or `connection_lost`; null until
   * then (undefined on a native WebSocket). The `error` event carries the same in `message`.
   */
  readonly errorCode?: string | null;
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
