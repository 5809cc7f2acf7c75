import { existsSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import type { Browser, Locator } from 'playwright-core';
import { startCluster, type ClusterOptions, type TestCluster } from './cluster';
import { requireNginx, startNginx, stopNginx, type RunningNginx } from './nginx';
import { ROOT } from './root';
import { requireServices } from './services';
import { waitFor } from './wait';

/** Debian's chromium: playwright cannot download its own browser on these machines. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-quic',
  '--no-first-run',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * Launches headless chromium (playwright gives it a fresh user data dir), or fails saying how to
 * install it: a browser test must never pass by skipping.
 */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `chromium not found at ${CHROMIUM_PATH}: install it with \`apt-get install -y chromium\` ` +
        '(or set CHROMIUM_PATH)',
    );
  }
  // Loaded here, not at the top: it takes ~0.5 s and every test file imports this lib.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { chromium } = require('playwright-core') as typeof import('playwright-core');
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: FLAGS, timeout: 30000 });
}

export interface BrowserClusterOptions extends ClusterOptions {
  /**
   * nginx in front of the gateways and the api, serving the web client from dist/web (which must
   * be built: `npm run build:web`). @default true
   */
  nginx?: boolean;
}

export interface BrowserCluster {
  /** Presence, the api and the gateways (startCluster's). */
  cluster: TestCluster;
  browser: Browser;
  /**
   * nginx as last started (its address stays the same across `stopNginx`/`restartNginx`).
   * Throws when the cluster was started with `nginx: false`.
   */
  readonly nginx: RunningNginx;
  /** Stops nginx: every connection through it drops, those straight to a gateway stay. */
  stopNginx(): Promise<void>;
  /** Starts nginx again with the same options, on the same port, and waits until it answers. */
  restartNginx(): Promise<void>;
  /** Closes the browser, stops nginx and the services, and removes what the run created. */
  stop(): Promise<void>;
}

/**
 * The set-up of the browser tests: headless chromium, startCluster's services and (by default)
 * nginx in front of them serving the web client. What the machine lacks (chromium, nginx, a built
 * dist/web, Redis, RabbitMQ) fails here with how to get it, before any process starts: a browser
 * test never passes by skipping. On failure, whatever was started is stopped.
 */
export async function startBrowserCluster(options: BrowserClusterOptions): Promise<BrowserCluster> {
  const { nginx: withNginx = true, ...clusterOptions } = options;
  if (withNginx) {
    requireNginx();
    if (!existsSync(path.join(ROOT, 'dist/web/index.html'))) {
      throw new Error('dist/web is not built: run `npm run build:web` (npm test does it)');
    }
  }
  await requireServices('redis', 'rabbitmq');
  const browser = await launchChromium();
  let cluster: TestCluster | undefined;
  let nginx: RunningNginx | undefined;
  let nginxUp = false;
  try {
    cluster = await startCluster({ gateways: 2, ...clusterOptions });
    if (withNginx) {
      nginx = await startNginx({
        gateways: cluster.gateways.map((g) => `127.0.0.1:${g.port}`),
        api: `127.0.0.1:${cluster.api.port}`,
      });
      nginxUp = true;
    }
  } catch (err) {
    await browser.close().catch(() => undefined);
    await cluster?.stop().catch(() => undefined);
    throw err;
  }
  const running = (): RunningNginx => {
    if (!nginx) throw new Error('this browser cluster was started without nginx');
    return nginx;
  };
  return {
    cluster,
    browser,
    get nginx() {
      return running();
    },
    async stopNginx() {
      await stopNginx(running());
      nginxUp = false;
    },
    async restartNginx() {
      nginx = await startNginx(running().options);
      nginxUp = true;
    },
    async stop() {
      try {
        await browser.close().catch(() => undefined);
        if (nginx && nginxUp) await stopNginx(nginx, { removePrefix: true });
        else if (nginx) rmSync(nginx.prefix, { recursive: true, force: true });
      } finally {
        await cluster.stop();
      }
    },
  };
}

/**
 * Waits until `check` holds for the locator's text (its elements' texts joined by `|`), as the
 * user reads it, and returns that text; on timeout the error says what was last seen.
 */
export async function waitForText(
  locator: Locator,
  check: (text: string) => boolean,
  what: string,
  timeoutMs = 8000,
): Promise<string> {
  let last = '';
  try {
    await waitFor(
      async () => {
        last = (await locator.allTextContents()).join('|');
        return check(last);
      },
      timeoutMs,
      what,
    );
    return last;
  } catch (err) {
    throw new Error(`${(err as Error).message}; last seen: "${last}"`, { cause: err });
  }
}
