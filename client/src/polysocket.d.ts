/** polysocket.js: the WHATWG WebSocket interface, over long-polling where WebSocket does not work. */
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
}

export interface PolySocketOptions {
  force?: boolean;
}

export declare class PolySocket extends EventTarget implements WebSocket {
  constructor(url: string, protocols?: string | string[], options?: PolySocketOptions);
  static readonly CONNECTING: 0;
  static readonly OPEN: 1;
  static readonly CLOSING: 2;
  static readonly CLOSED: 3;
  static readonly version: string;
  /** the browser's own WebSocket, if it has one */
  static readonly Native: typeof WebSocket | undefined;
  static configure(config: PolySocketConfig): void;
  readonly CONNECTING: 0;
  readonly OPEN: 1;
  readonly CLOSING: 2;
  readonly CLOSED: 3;
  readonly url: string;
  readonly readyState: number;
  readonly protocol: string;
  readonly extensions: string;
  readonly bufferedAmount: number;
  binaryType: BinaryType;
  /** 'polling' for the tunnel */
  readonly transport: 'polling';
  /**
   * Why the socket failed, once it has: an error code of the service (`token_invalid`,
   * `target_not_allowed`, `no_relay`, ...; see docs/CLIENT.md) or `connection_lost`. null until then.
   * The `error` event carries the same in `message`.
   */
  readonly errorCode: string | null;
  onopen: ((this: WebSocket, ev: Event) => unknown) | null;
  onmessage: ((this: WebSocket, ev: MessageEvent) => unknown) | null;
  onerror: ((this: WebSocket, ev: Event) => unknown) | null;
  onclose: ((this: WebSocket, ev: CloseEvent) => unknown) | null;
  send(data: string | ArrayBufferLike | Blob | ArrayBufferView): void;
  close(code?: number, reason?: string): void;
}

declare global {
  interface Window {
    PolySocket: typeof PolySocket;
    POLYSOCKET_CONFIG?: PolySocketConfig;
  }
}
