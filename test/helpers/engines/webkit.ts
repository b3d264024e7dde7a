/**
 * WebKit behind the engine interface: WebKitGTK's MiniBrowser (libwebkit2gtk) driven by Debian's
 * WebKitWebDriver through selenium-webdriver, on a display of its own (`xvfb-run -a`: without a
 * display the browser hangs). Three processes, each stopped by its pid on every exit path:
 * xvfb-run's Xvfb, the driver (never with inherited stdio: an orphan would hold the test's pipe
 * open) and the MiniBrowser it starts.
 *
 * WebDriver runs one command at a time on one window: the pages are tabs of one session and
 * every command switches to its page's tab first, in one queue. WebDriver has no way to run a
 * script before a page's own: the engine's `prelude` (the launch's `before` script and a console
 * recorder) is for the page server to put first in each page.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { Builder, type WebDriver } from 'selenium-webdriver';
import { freePort } from '../../harness/processes';
import { type ConsoleEntry, type Engine, type EnginePage, type LaunchOptions, PageBase } from './engine';
import { atMost, childrenOf, commandOf, killOnExit, stopProcess } from './processes';

export const WEBKIT_DRIVER = process.env.WEBKIT_DRIVER_PATH ?? '/usr/bin/WebKitWebDriver';
export const MINIBROWSER = process.env.MINIBROWSER_PATH ?? '/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser';

/** How long one page script may run (tests bound their own waits well inside it). */
const SCRIPT_TIMEOUT_MS = 120_000;
const START_TIMEOUT_MS = 20_000;

/** Records the page's console calls and uncaught errors where the driver cannot report them. */
const CONSOLE_RECORDER = `(function () {
  var entries = window.__polysocketConsole = [], errors = window.__polysocketErrors = [];
  ['log', 'info', 'warn', 'error', 'debug'].forEach(function (type) {
    var original = console[type];
    console[type] = function () {
      var parts = [];
      for (var i = 0; i < arguments.length; i++) parts.push(String(arguments[i]));
      entries.push({ type: type, text: parts.join(' ') });
      return original.apply(console, arguments);
    };
  });
  window.addEventListener('error', function (e) { errors.push(e.message); });
  window.addEventListener('unhandledrejection', function (e) {
    errors.push('unhandled rejection: ' + (e.reason && e.reason.message || e.reason));
  });
})();`;

/** The processes of one launch, as far as it got. */
interface Processes {
  xvfbRun?: ChildProcess;
  xvfb?: number;
  driver?: number;
  browser?: number;
}

async function stopAll(p: Processes): Promise<void> {
  // the browser first (its driver would otherwise leave it behind), then the driver, after which
  // xvfb-run stops its Xvfb and removes its auth file itself; whatever is left is stopped by pid
  for (const pid of [p.browser, p.driver, p.xvfb, p.xvfbRun?.pid]) if (pid !== undefined) await stopProcess(pid);
}

class WebKitPage extends PageBase {
  constructor(
    private readonly engine: WebKitEngine,
    private readonly handle: string,
  ) {
    super();
  }

  goto(url: string): Promise<void> {
    return this.engine.on(this.handle, (d) => d.get(url));
  }

  url(): Promise<string> {
    return this.engine.on(this.handle, (d) => d.getCurrentUrl());
  }

  protected evaluateExpression(expression: string): Promise<unknown> {
    return this.engine.on(this.handle, (d) =>
      d.executeAsyncScript(`var done = arguments[arguments.length - 1]; (${expression}).then(done);`),
    );
  }

  cookies(url: string): Promise<string[]> {
    return this.engine.cookiesFor(url);
  }

  console(): Promise<ConsoleEntry[]> {
    return this.evaluate(() => ((window as any).__polysocketConsole ?? []) as ConsoleEntry[]);
  }

  close(): Promise<void> {
    return this.engine.closeTab(this.handle);
  }
}

class WebKitEngine implements Engine {
  readonly name = 'webkit';
  readonly prelude: string;
  /** one WebDriver command (with its tab switch) at a time */
  private queue: Promise<unknown> = Promise.resolve();
  private current: string;

  constructor(
    private readonly driver: WebDriver,
    private readonly processes: Processes,
    private readonly home: string,
    readonly version: string,
    before: string | undefined,
  ) {
    this.current = home;
    this.prelude = `<script>${before ?? ''}\n${CONSOLE_RECORDER}</script>`;
  }

  /** runs `command` on the tab `handle`, after the commands queued before it */
  on<R>(handle: string, command: (d: WebDriver) => Promise<R>): Promise<R> {
    const run = this.queue.then(async () => {
      if (this.current !== handle) {
        await this.driver.switchTo().window(handle);
        this.current = handle;
      }
      return command(this.driver);
    });
    this.queue = run.catch(() => undefined); // the caller gets the failure; the queue goes on
    return run;
  }

  async newPage(): Promise<EnginePage> {
    const handle = await this.on(this.current, async (d) => {
      await d.switchTo().newWindow('tab');
      this.current = await d.getWindowHandle();
      return this.current;
    });
    return new WebKitPage(this, handle);
  }

  /**
   * WebDriver reads the cookies of a tab's own document only: a tab of its own is opened at `url`
   * (WebKit's tabs share one jar), its cookies read, and it is closed again.
   */
  cookiesFor(url: string): Promise<string[]> {
    return this.on(this.current, async (d) => {
      const back = this.current;
      await d.switchTo().newWindow('tab');
      try {
        await d.get(url);
        return (await d.manage().getCookies()).map((c) => c.name).sort();
      } finally {
        await d.close();
        await d.switchTo().window(back);
      }
    });
  }

  closeTab(handle: string): Promise<void> {
    return this.on(handle, async (d) => {
      const errors = (await d.executeScript('return window.__polysocketErrors || [];')) as string[];
      for (const e of errors) console.error('page error (webkit):', e);
      // the session's first tab stays open (a session without windows ends)
      await d.close();
      await d.switchTo().window(this.home);
      this.current = this.home;
    });
  }

  async close(): Promise<void> {
    try {
      await atMost(
        this.queue.then(() => this.driver.quit()),
        10_000,
      );
    } finally {
      await stopAll(this.processes);
    }
  }
}

/**
 * WebDriver's `proxy` capability for `proxy` (http://host:port), which WebKitWebDriver hands to
 * the browser's network session: http, https and ws through it, and no host exempt.
 */
function proxyCapability(proxy: string): Record<string, unknown> {
  const { host } = new URL(proxy);
  return { proxyType: 'manual', httpProxy: host, sslProxy: host, noProxy: [] };
}

/** Resolves once the driver answers /status, or rejects when xvfb-run exits or START_TIMEOUT_MS passes. */
async function driverReady(xvfbRun: ChildProcess, port: number, stderr: () => string): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (xvfbRun.exitCode !== null || xvfbRun.signalCode !== null) {
      throw new Error(`xvfb-run ${WEBKIT_DRIVER} exited (${xvfbRun.exitCode ?? xvfbRun.signalCode}): ${stderr()}`);
    }
    try {
      const r = await fetch(`http://127.0.0.1:${port}/status`);
      if (r.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${WEBKIT_DRIVER} did not answer within ${START_TIMEOUT_MS} ms: ${stderr()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function launchWebKit(o: LaunchOptions = {}): Promise<Engine> {
  const processes: Processes = {};
  try {
    const port = await freePort();
    const xvfbRun = spawn(
      'xvfb-run',
      ['-a', '-s', '-screen 0 1280x1024x24 -nolisten tcp', WEBKIT_DRIVER, `--port=${port}`, '--host=127.0.0.1'],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    processes.xvfbRun = xvfbRun;
    if (xvfbRun.pid === undefined) throw new Error('xvfb-run did not start (is the xvfb package installed?)');
    killOnExit(xvfbRun.pid);
    let stderr = '';
    // drained, and the last few KB kept for an error message
    xvfbRun.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    await driverReady(xvfbRun, port, () => stderr);
    for (const pid of childrenOf(xvfbRun.pid)) {
      const command = commandOf(pid);
      if (command === 'Xvfb') processes.xvfb = pid;
      else if (command === 'WebKitWebDriver') processes.driver = pid;
    }
    if (processes.xvfb === undefined || processes.driver === undefined) throw new Error(`xvfb-run's children not found: ${stderr}`);
    killOnExit(processes.xvfb);
    killOnExit(processes.driver);

    const driver = await new Builder()
      .usingServer(`http://127.0.0.1:${port}`)
      .withCapabilities({
        browserName: 'MiniBrowser',
        'webkitgtk:browserOptions': { binary: MINIBROWSER, args: ['--automation'] },
        ...(o.proxy ? { proxy: proxyCapability(o.proxy) } : {}),
      })
      .build();
    const browser = childrenOf(processes.driver).find((pid) => commandOf(pid) === 'MiniBrowser');
    if (browser === undefined) throw new Error('the WebDriver session started, but no MiniBrowser process was found');
    processes.browser = browser;
    killOnExit(browser);
    await driver.manage().setTimeouts({ script: SCRIPT_TIMEOUT_MS, pageLoad: 30_000 });
    const caps = await driver.getCapabilities();
    const home = await driver.getWindowHandle();
    return new WebKitEngine(driver, processes, home, `WebKitGTK ${caps.get('browserVersion') ?? ''}`.trim(), o.before);
  } catch (err) {
    await stopAll(processes);
    throw err;
  }
}
