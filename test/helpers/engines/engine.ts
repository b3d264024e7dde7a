/**
 * One browser, whichever engine: the tests open pages, evaluate in them and read their consoles
 * through this interface, so each client behaviour is written once and run in Chromium, Gecko and
 * WebKit alike. Debian's browsers only (nothing downloads one): chromium.ts, firefox.ts, webkit.ts.
 */

export type EngineName = 'chromium' | 'firefox' | 'webkit';

export const ENGINE_NAMES: readonly EngineName[] = ['chromium', 'firefox', 'webkit'];

/** A console call of the page: `type` is the console method (log, info, warn, error, debug). */
export interface ConsoleEntry {
  type: string;
  text: string;
}

export interface EnginePage {
  /** loads `url` and resolves once its load event has fired */
  goto(url: string): Promise<void>;
  /** the page's address now (after any redirect) */
  url(): Promise<string>;
  /**
   * Runs `fn(arg)` in the page and resolves with what it returns (awaited when a promise), through
   * JSON both ways. `fn` travels as source: it must close over nothing but its argument. An
   * exception in the page rejects with its name and message.
   */
  evaluate<R, A = undefined>(fn: (arg: A) => R | Promise<R>, arg?: A): Promise<R>;
  /** resolves once `fn(arg)` is truthy in the page (checked there every 10 ms), rejects after `timeoutMs` */
  waitFor<A = undefined>(fn: (arg: A) => unknown, arg?: A, timeoutMs?: number): Promise<void>;
  /**
   * The names of the cookies this page's jar holds for `url` (what the browser would send there,
   * SameSite aside), sorted.
   */
  cookies(url: string): Promise<string[]>;
  /** the page's console calls so far, in order */
  console(): Promise<ConsoleEntry[]>;
  /** closes the tab (the page sees pagehide, as when a user closes it) */
  close(): Promise<void>;
}

export interface Engine {
  readonly name: EngineName;
  /** the browser's product and version, e.g. "Firefox 153.8.0esr" */
  readonly version: string;
  /**
   * What a page server must put before a page's own scripts for this engine: the launch's
   * `before` script, and in WebKit also the console recorder, where the engine cannot run a
   * script there itself. Empty where the engine runs them itself (Chromium, Firefox).
   */
  readonly prelude: string;
  /** a new tab; Chromium and Firefox give each its own cookie jar, WebKit's tabs share one */
  newPage(): Promise<EnginePage>;
  /** ends the browser and every process started for it (driver, display), by pid */
  close(): Promise<void>;
}

export interface LaunchOptions {
  /** a script run before each page's own scripts, in every page (WebKit: pages that carry `prelude`) */
  before?: string;
  /**
   * A forward proxy, `http://host:port`, every request of the browser goes through: http, https
   * and WebSocket, loopback ones too (as a corporate proxy takes them).
   */
  proxy?: string;
}

/**
 * `evaluate` and `waitFor` for every engine, over the one thing each driver does differently:
 * evaluating an expression whose value is a promise of a string.
 */
export abstract class PageBase implements EnginePage {
  abstract goto(url: string): Promise<void>;
  abstract url(): Promise<string>;
  abstract cookies(url: string): Promise<string[]>;
  abstract console(): Promise<ConsoleEntry[]>;
  abstract close(): Promise<void>;
  /** evaluates `expression` (a promise of a string) in the page and resolves with the string */
  protected abstract evaluateExpression(expression: string): Promise<unknown>;

  async evaluate<R, A = undefined>(fn: (arg: A) => R | Promise<R>, arg?: A): Promise<R> {
    // the page's answer is always {"v": result} or {"e": "Name: message"}, one string through every driver
    const expression = `(async function () {
  try { return JSON.stringify({ v: await (${fn.toString()})(${arg === undefined ? '' : JSON.stringify(arg)}) }); }
  catch (e) { return JSON.stringify({ e: (e && e.name ? e.name + ': ' : '') + (e && e.message !== undefined ? e.message : String(e)) }); }
})()`;
    const json = await this.evaluateExpression(expression);
    if (typeof json !== 'string') throw new Error(`the page answered an evaluation with ${typeof json}, not its JSON`);
    const answer = JSON.parse(json) as { v?: R; e?: string };
    if (answer.e !== undefined) throw new Error(`in the page: ${answer.e}`);
    return answer.v as R;
  }

  async waitFor<A = undefined>(fn: (arg: A) => unknown, arg?: A, timeoutMs = 10_000): Promise<void> {
    const check = `(${fn.toString()})(${arg === undefined ? '' : JSON.stringify(arg)})`;
    const met = await this.evaluate(
      (o) =>
        new Promise<boolean>((resolve, reject) => {
          const test = new Function(`return ${o.check};`);
          const deadline = Date.now() + o.timeoutMs;
          const poll = () => {
            try {
              if (test()) resolve(true);
              else if (Date.now() > deadline) resolve(false);
              else setTimeout(poll, 10);
            } catch (e) {
              reject(e);
            }
          };
          poll();
        }),
      { check, timeoutMs },
    );
    if (!met) throw new Error(`not true in the page within ${timeoutMs} ms: ${fn.toString()}`);
  }
}
