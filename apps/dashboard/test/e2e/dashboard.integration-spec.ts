import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { createDatabase, dropKeys, isolated, REDIS_URL, ServiceProcess, waitUntil } from '@md/testing';

/**
 * The dashboard in a real browser over the real system: orchestrator-api, consumers,
 * realtime-gateway and the feeder as built processes on Redis and a Postgres database of this
 * test's own, the dashboard's server in front, and Debian's Chromium driven by playwright-core
 * (no browser download). Screenshots go to tmp/artifacts/ (CI keeps them).
 */
jest.setTimeout(180_000);

const ROOT = join(__dirname, '../../../..');
const ARTIFACTS = join(ROOT, 'tmp/artifacts');
const SYMBOLS = ['BTCUSDT', 'ETHUSDT', 'SOLUSDT', 'EURUSD'];
const API_KEY = `e2e-api-key-${randomUUID()}`;
const INGEST = { INGEST_USERNAME: 'feeder', INGEST_PASSWORD: `e2e-${randomUUID().slice(0, 12)}` };
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-sync',
];

/**
 * Debian's Chromium at /usr/bin/chromium (or CHROMIUM_PATH, e.g. a runner's preinstalled
 * Chrome). Installed with apt-get when missing and running as root; otherwise the test says
 * what to do.
 */
function chromiumPath(): string {
  const path = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
  if (existsSync(path)) return path;
  if (!process.env.CHROMIUM_PATH && process.getuid?.() === 0) {
    const install = () =>
      spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'chromium'], {
        stdio: 'inherit',
        env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
      });
    if (install().status !== 0) {
      spawnSync('apt-get', ['update'], { stdio: 'inherit' });
      install();
    }
    if (existsSync(path)) return path;
  }
  throw new Error(
    `No Chromium at ${path}. Install Debian's (sudo apt-get install -y chromium), or set CHROMIUM_PATH to a Chromium/Chrome binary. ` +
      'This test never downloads a browser.',
  );
}

describe('dashboard in a browser (real processes, real Chromium)', () => {
  const keys = isolated();
  let db: Awaited<ReturnType<typeof createDatabase>>;
  const services: ServiceProcess[] = [];
  let gateway: ServiceProcess;
  let dashboard: ServiceProcess;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];
  const requests: { url: string; headers: Record<string, string> }[] = [];

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    const executablePath = chromiumPath();
    db = await createDatabase();
    const env = {
      ...keys,
      ...INGEST,
      REDIS_URL,
      API_KEY,
      INTERNAL_TOKEN: `internal-${randomUUID()}`,
      PG_URL: db.url,
      FLUSH_INTERVAL_MS: '250',
    };
    const api = await ServiceProcess.start('orchestrator-api', env);
    gateway = await ServiceProcess.start('realtime-gateway', env);
    const consumers = await ServiceProcess.start('consumers', { ...env, ORCHESTRATOR_URL: api.internalUrl });
    services.push(api, gateway, consumers);
    const feeder = await ServiceProcess.start('feeder', {
      ...INGEST,
      TARGET_URL: `${api.url}/ingest/tick`,
      SYMBOLS: SYMBOLS.join(','),
      TPS: '20',
      SEED: 'dashboard-e2e',
    });
    services.push(feeder);
    dashboard = await ServiceProcess.start(
      'dashboard',
      {
        API_URL: api.url,
        GATEWAY_URL: gateway.url,
        CONSUMERS_URL: consumers.url,
        FEEDER_URL: feeder.url,
        API_KEY,
        API_PUBLIC_URL: api.url,
      },
      { script: 'dist/apps/dashboard-server/main.js' },
    );
    services.push(dashboard);

    browser = await chromium.launch({ executablePath, headless: true, args: CHROMIUM_ARGS });
    page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(`console error: ${message.text()}`);
    });
    page.on('request', (request) => requests.push({ url: request.url(), headers: request.headers() }));
    // Every layout shift Chromium reports (the Layout Instability API), from page load on: what
    // moved, and whether it is an element or a run of text, and whether its box moved at all.
    await page.addInitScript(() => {
      type Source = { node?: Node; previousRect: DOMRectReadOnly; currentRect: DOMRectReadOnly };
      const w = window as unknown as { shifts: { element: boolean; moved: boolean; what: string }[] };
      w.shifts = [];
      // Within a pixel: sub-pixel text metrics (a run re-measured at 57.375 then 57.203 px) are no visible shift.
      const near = (p: number, q: number) => Math.abs(p - q) < 1;
      const same = (a: DOMRectReadOnly, b: DOMRectReadOnly) =>
        near(a.x, b.x) && near(a.y, b.y) && near(a.width, b.width) && near(a.height, b.height);
      new PerformanceObserver((list) => {
        for (const entry of list.getEntries() as (PerformanceEntry & { hadRecentInput: boolean; sources: Source[] })[]) {
          if (entry.hadRecentInput) continue;
          for (const source of entry.sources) {
            const element = source.node?.nodeType === Node.ELEMENT_NODE;
            const what = `${element ? (source.node as Element).outerHTML.slice(0, 80) : JSON.stringify(source.node?.textContent)} ${JSON.stringify(source.previousRect)} → ${JSON.stringify(source.currentRect)}`;
            w.shifts.push({ element, moved: !same(source.previousRect, source.currentRect), what });
          }
        }
      }).observe({ type: 'layout-shift', buffered: true });
    });
  });

  afterAll(async () => {
    await browser?.close();
    for (const service of services.reverse()) await service.kill();
    await dropKeys(REDIS_URL, keys.REDIS_PREFIX);
    await db?.drop();
  });

  const priceOf = (symbol: string) => page.locator(`tr[data-symbol="${symbol}"] [data-testid="price"]`).first().textContent();
  const prices = async () => Promise.all(SYMBOLS.map((symbol) => priceOf(symbol)));
  const connectionState = () => page.locator('header [data-testid="connection-state"]').getAttribute('data-state');

  it('shows a row for every configured symbol, live over the stream', async () => {
    await page.goto(dashboard.url);
    for (const symbol of SYMBOLS) await page.locator(`tr[data-symbol="${symbol}"]`).waitFor({ timeout: 20_000 });
    await waitUntil(async () => (await connectionState()) === 'connected', 'the stream to connect', 15_000);
    const rows = await page.locator('tbody tr[data-symbol]').evaluateAll((trs) => trs.map((tr) => (tr as HTMLElement).dataset.symbol));
    expect(rows).toEqual([...SYMBOLS].sort());
  });

  it('changes a price within a few seconds, flashing it', async () => {
    const before = await prices();
    const started = Date.now();
    await waitUntil(async () => (await prices()).some((price, i) => price !== before[i]), 'a price to change', 5_000);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(await page.locator('[data-testid="price"][class*="flash-"]').count()).toBeGreaterThan(0);
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-market.png'), fullPage: true });
  });

  it('does not move the layout while prices change', async () => {
    type Shift = { element: boolean; moved: boolean; what: string };
    const shifts = () => page.evaluate(() => (window as unknown as { shifts: Shift[] }).shifts);
    const seen = (await shifts()).length;
    const classes = () => page.locator('[data-testid="price"]').evaluateAll((cells) => cells.map((cell) => cell.className));
    const before = await classes();
    await page.waitForTimeout(3_000); // 60 ticks: a dozen or so views per symbol, and a /status refresh
    expect(await classes()).not.toEqual(before);
    // Digits changing inside a box that stays put are fine (right-aligned text starts elsewhere when
    // a number gains a digit); an element that moves, or a box that moves, is a layout shift.
    const moves = (await shifts()).slice(seen).filter((shift) => shift.element || shift.moved);
    expect(moves.map((shift) => shift.what)).toEqual([]);
  });

  it('fits a phone screen: the table scrolls inside its box, the page does not scroll sideways', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.locator(`tr[data-symbol="${SYMBOLS[0]}"]`).waitFor();
    expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-phone.png'), fullPage: true });
    await page.setViewportSize({ width: 1440, height: 900 });
  });

  it('shows every service ready, the queues, and tick-to-screen latency measured in the browser', async () => {
    for (const name of ['orchestrator-api', 'realtime-gateway', 'consumers', 'feeder']) {
      await page.locator(`[data-service="${name}"][data-ready="true"]`).waitFor({ timeout: 10_000 });
    }
    await page.getByRole('rowheader', { name: 'ticks.received' }).waitFor({ timeout: 10_000 });
    await page.getByRole('rowheader', { name: 'views.compute' }).waitFor();
    await waitUntil(
      async () => /\d+ ms|\d\.\d+ s/.test((await page.getByTestId('latency-p95').textContent()) ?? ''),
      'latency figures',
      10_000,
    );
    expect(await page.getByRole('link', { name: /Queue admin/ }).getAttribute('href')).toMatch(/\/admin\/queues$/);
    expect(await page.getByRole('link', { name: /Swagger/ }).getAttribute('href')).toMatch(/\/docs$/);
  });

  it('never sends the API key from the browser, nor ships it in the bundle', async () => {
    for (const request of requests) {
      expect({
        url: request.url,
        leaked: request.url.includes(API_KEY) || Object.values(request.headers).some((v) => v.includes(API_KEY)),
      }).toEqual({
        url: request.url,
        leaked: false,
      });
      expect(request.headers['x-api-key']).toBeUndefined();
    }
    const assets = await page.evaluate(() =>
      [...document.querySelectorAll('script[src], link[rel="stylesheet"]')].map(
        (e) => (e as HTMLScriptElement).src || (e as HTMLLinkElement).href,
      ),
    );
    expect(assets.length).toBeGreaterThan(0);
    for (const url of [dashboard.url, ...assets]) expect((await (await fetch(url)).text()).includes(API_KEY)).toBe(false);
  });

  it('opens a symbol page with candles drawn, live ticks and the view W', async () => {
    const symbol = SYMBOLS[0];
    await page.getByRole('link', { name: symbol, exact: true }).click();
    await page.waitForURL(`**/symbols/${symbol}`);
    const chart = page.getByTestId('candle-chart');
    await chart.locator('canvas').first().waitFor({ timeout: 10_000 });
    await waitUntil(async () => Number(await chart.getAttribute('data-candles')) > 0, 'candles on the chart', 15_000);
    await page.getByRole('button', { name: '1s' }).click();
    expect(await page.getByRole('button', { name: '1s' }).getAttribute('aria-pressed')).toBe('true');
    await waitUntil(async () => Number(await chart.getAttribute('data-candles')) > 1, '1s candles on the chart', 15_000);
    await page.getByRole('table').filter({ hasText: 'Recent ticks' }).locator('tbody tr').first().waitFor({ timeout: 10_000 });
    await page.getByText('Ticks seen').waitFor();
    await page.waitForTimeout(1_000); // a second of live bars in the picture
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-symbol.png'), fullPage: true });
  });

  it('reconnects after the gateway restarts, resuming the stream', async () => {
    await page.getByRole('link', { name: '← Market' }).click();
    await page.locator(`tr[data-symbol="${SYMBOLS[0]}"]`).waitFor();
    await gateway.kill('SIGKILL');
    await waitUntil(async () => (await connectionState()) === 'reconnecting', 'the stream to notice the drop', 10_000);
    await gateway.restart();
    await waitUntil(async () => ['resumed', 'reset'].includes((await connectionState()) ?? ''), 'the stream to come back', 30_000);
    expect(await connectionState()).toBe('resumed');
    const before = await prices();
    await waitUntil(async () => (await prices()).some((price, i) => price !== before[i]), 'prices to move again', 10_000);
  });

  it('raised no errors in the page', () => {
    // The stream's drop while the gateway was down is logged by Chromium as failed requests (502); nothing else.
    const unexpected = problems.filter((problem) => !/502|ERR_|net::|EventSource/.test(problem));
    expect(unexpected).toEqual([]);
  });
});
