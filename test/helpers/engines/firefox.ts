/**
 * Gecko behind the engine interface: Debian's firefox-esr, headless, driven over WebDriver BiDi by
 * puppeteer-core (Debian has no geckodriver; nothing here downloads one). Each page gets a
 * browser context of its own, as playwright gives each Chromium page. The browser is stopped by
 * its pid if a graceful close does not end it, and on the test process's exit.
 */
import puppeteer, { type Browser, type BrowserContext, type Page } from 'puppeteer-core';
import { type ConsoleEntry, type Engine, type EnginePage, type LaunchOptions, PageBase } from './engine';
import { alive, atMost, killOnExit, stopProcess } from './processes';

export const FIREFOX = process.env.FIREFOX_PATH ?? '/usr/bin/firefox-esr';

/**
 * Firefox's messages for a request that never got an answer: a WebSocket that did not connect or
 * was cut, an XHR whose server went away. Chromium and WebKit log these to the console.
 */
const NETWORK_FAILED = new RegExp(
  [
    '^Firefox can.t establish a connection to the server at wss?:',
    '^The connection to wss?:\\S+ was interrupted',
    '^Cross-Origin Request Blocked: .*\\(Reason: CORS request did not succeed\\)',
  ].join('|'),
);

class FirefoxPage extends PageBase {
  private readonly entries: ConsoleEntry[] = [];

  constructor(
    private readonly context: BrowserContext,
    private readonly page: Page,
  ) {
    super();
    page.on('console', (m) => this.entries.push({ type: m.type(), text: m.text() }));
    page.on('pageerror', (err) => {
      const message = err instanceof Error ? err.message : String(err);
      // Firefox reports these as errors of the page's; they go to its console, as in the other
      // engines (they are no exceptions of the page's scripts)
      if (NETWORK_FAILED.test(message)) this.entries.push({ type: 'error', text: message });
      else console.error('page error (firefox):', message);
    });
  }

  async goto(url: string): Promise<void> {
    await this.page.goto(url, { waitUntil: 'load' });
  }

  async url(): Promise<string> {
    return this.page.url();
  }

  protected evaluateExpression(expression: string): Promise<unknown> {
    return this.page.evaluate(expression);
  }

  async cookies(url: string): Promise<string[]> {
    // the page's own storage partition (BiDi storage.getCookies), matched to `url` by puppeteer
    return (await this.page.cookies(url)).map((c) => c.name).sort();
  }

  async console(): Promise<ConsoleEntry[]> {
    return [...this.entries];
  }

  async close(): Promise<void> {
    await this.page.close({ runBeforeUnload: false });
    await this.context.close();
  }
}

class FirefoxEngine implements Engine {
  readonly name = 'firefox';
  readonly prelude = '';

  constructor(
    private readonly browser: Browser,
    private readonly pid: number,
    readonly version: string,
    private readonly before: string | undefined,
  ) {}

  async newPage(): Promise<EnginePage> {
    const context = await this.browser.createBrowserContext();
    try {
      const page = await context.newPage();
      if (this.before) await page.evaluateOnNewDocument(this.before);
      return new FirefoxPage(context, page);
    } catch (err) {
      await context.close();
      throw err;
    }
  }

  async close(): Promise<void> {
    try {
      await atMost(this.browser.close(), 10_000);
    } finally {
      if (alive(this.pid)) await stopProcess(this.pid);
    }
  }
}

/** Firefox's preferences for `proxy` (http://host:port): every scheme through it, loopback too. */
function proxyPrefs(proxy: string | undefined): Record<string, unknown> {
  if (!proxy) return {};
  const { hostname, port } = new URL(proxy);
  return {
    'network.proxy.type': 1, // manual
    'network.proxy.http': hostname,
    'network.proxy.http_port': Number(port),
    'network.proxy.ssl': hostname,
    'network.proxy.ssl_port': Number(port),
    // Firefox never proxies localhost and 127.0.0.1 unless told to, whatever no_proxies_on says
    'network.proxy.allow_hijacking_localhost': true,
    'network.proxy.no_proxies_on': '',
  };
}

export async function launchFirefox(o: LaunchOptions = {}): Promise<Engine> {
  const browser = await puppeteer.launch({
    browser: 'firefox',
    protocol: 'webDriverBiDi',
    executablePath: FIREFOX,
    headless: true,
    // the test's output is the tests'; Firefox's own chatter goes nowhere
    dumpio: false,
    extraPrefsFirefox: proxyPrefs(o.proxy),
  });
  const pid = browser.process()?.pid;
  if (pid === undefined) {
    await browser.close();
    throw new Error('firefox-esr started without a pid');
  }
  killOnExit(pid);
  try {
    const version = (await browser.version()).replace(/^firefox\//i, 'Firefox ');
    return new FirefoxEngine(browser, pid, version, o.before);
  } catch (err) {
    await stopProcess(pid);
    throw err;
  }
}
