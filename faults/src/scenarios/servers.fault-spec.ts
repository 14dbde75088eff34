import { Redis } from 'ioredis';
import { sleep } from '@md/common';
import { runScenario } from '../support/scenario';

/** The servers under the system failing: PostgreSQL stopped, Redis restarted. */
describe('fault scenarios: servers', () => {
  it('4. PostgreSQL stopped (pg_ctl stop -m immediate) for 10 s under load, then started', async () => {
    const result = await runScenario('4 postgres down 10 s', { ownPostgres: true }, async ({ stack, driver }) => {
      const before = driver.accepted.size;
      stack.cluster$.stopImmediate();
      await sleep(10_000);
      // Ingest never waits for PostgreSQL: ticks kept being accepted while it was down.
      expect(driver.accepted.size - before).toBeGreaterThan(0);
      stack.cluster$.start();
    });
    expect(result.failures).toEqual([]);
  });

  it('5. Redis restarted (appendonly) under load: 503 fast while down, no 2xx, everything resumes without restarts', async () => {
    const result = await runScenario('5 redis restart', { appendonly: true }, async ({ stack, driver }) => {
      await stack.redis.kill('SIGTERM');
      const downAt = Date.now();
      await sleep(4_000);
      const upAt = Date.now();
      await stack.redis.start();
      const during = driver.attemptsBetween(downAt, upAt);
      expect(during.length).toBeGreaterThan(0);
      expect(during.filter((a) => a.status >= 200 && a.status < 300)).toEqual([]);
      expect(during.filter((a) => a.status !== 503)).toEqual([]);
      expect(Math.max(...during.map((a) => a.ms))).toBeLessThan(5_000);
    });
    expect(result.failures).toEqual([]);
  });

  it("6. the gateway's Redis subscription killed repeatedly, then the gateway killed -9 with clients connected", async () => {
    const result = await runScenario('6 gateway faults', {}, async ({ stack, watcher }) => {
      const admin = new Redis(stack.redis.url);
      try {
        for (let i = 0; i < 5; i += 1) {
          await admin.call('CLIENT', 'KILL', 'TYPE', 'pubsub');
          await sleep(700);
        }
      } finally {
        admin.disconnect();
      }
      const connections = watcher?.connections ?? 0;
      await stack.gateway?.kill('SIGKILL');
      await sleep(1_500);
      await stack.gateway?.restart();
      await sleep(1_500);
      // The client reconnected (and resumed with Last-Event-ID, or was reset).
      expect(watcher?.connections).toBeGreaterThan(connections);
    });
    expect(result.silentGaps).toBe(0);
    expect(result.failures).toEqual([]);
  });
});
