import { sleep } from '@md/common';
import { runScenario } from '../support/scenario';

/** Processes crashing (kill -9) and being restarted under load. */
describe('fault scenarios: processes', () => {
  it('1. a consumer killed -9 mid-stream, restarted a few seconds later', async () => {
    const result = await runScenario('1 consumer kill -9', {}, async ({ stack }) => {
      await stack.consumers.kill('SIGKILL');
      await sleep(3_000);
      await stack.consumers.restart();
    });
    expect(result.failures).toEqual([]);
  });

  it('2. the orchestrator-api killed -9 mid-stream while ticks keep coming (retried), restarted', async () => {
    const result = await runScenario('2 api kill -9', {}, async ({ stack, driver }) => {
      const before = driver.attempts.length;
      await stack.api.kill('SIGKILL');
      await sleep(2_000);
      await stack.api.restart();
      // The load did meet the dead api: refused connections, retried.
      expect(driver.attempts.slice(before).some((a) => a.status === 0)).toBe(true);
    });
    expect(result.failures).toEqual([]);
  });

  for (const fault of ['crash-before-commit', 'crash-after-commit'] as const) {
    it(`3. the flusher killed ${fault === 'crash-before-commit' ? 'before COMMIT' : 'between COMMIT and acknowledgement'}`, async () => {
      const result = await runScenario(`3 flusher ${fault}`, { apiEnv: { FLUSH_FAULT: fault } }, async ({ stack }) => {
        // The api kills itself at its first batch; the ticks keep being retried meanwhile.
        expect(await stack.api.exited()).toBeNull();
        await stack.api.restart({ FLUSH_FAULT: '' });
      });
      expect(result.failures).toEqual([]);
    });
  }

  it('7. SIGTERM to every service under load: in-flight requests finish, final flush, exit within 30 s', async () => {
    const result = await runScenario('7 SIGTERM all', {}, async ({ stack, driver }) => {
      const at = Date.now();
      const exits = await Promise.all(
        [stack.api, stack.consumers, stack.gateway].map(async (service) => {
          const code = await service?.kill('SIGTERM');
          return { app: service?.app, code, ms: Date.now() - at };
        }),
      );
      // Nest closes cleanly, then re-raises the signal: the exit is by SIGTERM (code null), not a crash code.
      for (const exit of exits) expect(exit).toMatchObject({ code: null });
      for (const exit of exits) expect(exit.ms).toBeLessThan(30_000);
      // Requests in flight when SIGTERM came were answered, not cut.
      const inFlight = driver.attempts.filter((a) => a.at < at && a.at + a.ms > at);
      expect(inFlight.every((a) => a.status === 200)).toBe(true);
      // The final flush: everything accepted before the signal is in PostgreSQL already.
      const acceptedBefore = [...driver.accepted];
      const stored = new Set((await stack.rows()).map((r) => r.event_id));
      expect(acceptedBefore.filter((id) => !stored.has(id))).toEqual([]);
      await sleep(1_000);
      await Promise.all([stack.api, stack.consumers, stack.gateway].map((service) => service?.restart()));
    });
    expect(result.failures).toEqual([]);
  });
});
