import { sleep } from '@md/common';
import { waitUntil } from '@md/testing';
import { TickDriver } from './driver';
import { checkInvariants, type ScenarioResult } from './invariants';
import { API_KEY, AUTH, Stack, type StackOptions } from './stack';
import { StreamWatcher } from './stream-watcher';

export const SYMBOLS = ['BTCUSDT', 'ETHUSDT', 'SOLUSDT', 'XAUUSD'];
export const TPS = Number(process.env.FAULTS_TPS ?? 100);

export interface Context {
  stack: Stack;
  driver: TickDriver;
  watcher?: StreamWatcher;
}

/**
 * One scenario: the stack, ticks at TPS from the driver, a resuming stream client on the
 * gateway; `fault` runs under that load (after a warm-up); then the load stops, the system
 * quiesces, and the invariants are checked and reported.
 */
export async function runScenario(
  name: string,
  options: StackOptions,
  fault: (context: Context) => Promise<void>,
): Promise<ScenarioResult> {
  const stack = await Stack.start(options);
  try {
    const driver = new TickDriver(stack.api.url, AUTH, SYMBOLS, TPS);
    const watcher = stack.gateway ? new StreamWatcher(`${stack.gateway.url}/stream`, { 'x-api-key': API_KEY }) : undefined;
    watcher?.start();
    driver.start();
    await sleep(2_000);
    await fault({ stack, driver, watcher });
    await sleep(2_000);
    await driver.stop();
    await stack.quiesce();
    if (watcher) {
      // The stream client has had every final view (or the check below says which it has not).
      const views = await stack.views();
      await waitUntil(
        () =>
          [...views.values()].every(
            (v) =>
              watcher.events.some((e) => e.data?.view?.tickCount === v.tickCount && e.data.symbol === v.symbol) ||
              watcher.events.some(
                (e) =>
                  e.event === 'snapshot' &&
                  e.data.views.some((s: { symbol: string; tickCount: number }) => s.symbol === v.symbol && s.tickCount === v.tickCount),
              ),
          ),
        'the stream client to see every final view',
        15_000,
      ).catch(() => undefined);
      await watcher.stop();
    }
    return await checkInvariants(name, stack, driver, watcher?.events);
  } finally {
    await stack.stop();
  }
}
