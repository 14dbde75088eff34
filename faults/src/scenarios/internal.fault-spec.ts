import { sleep } from '@md/common';
import { ChaosProxy } from '../support/chaos-proxy';
import { runScenario } from '../support/scenario';

const CHAOS_S = Number(process.env.FAULTS_CHAOS_S ?? 60);

describe('fault scenarios: the internal endpoint', () => {
  it(`8. POST /internal/agg-update slow and failing half the time for ${CHAOS_S} s: retried, never counted twice`, async () => {
    let proxy: ChaosProxy | undefined;
    try {
      const result = await runScenario(
        `8 internal endpoint chaos ${CHAOS_S} s`,
        {
          orchestratorUrl: async (apiUrl) => {
            proxy = new ChaosProxy(apiUrl);
            await proxy.start();
            return proxy.url;
          },
        },
        async () => {
          if (!proxy) throw new Error('no proxy');
          proxy.chaos = true;
          await sleep(CHAOS_S * 1000);
          proxy.chaos = false;
          // The chaos was real: posts failed, some after the api had stored the view.
          expect(proxy.failed).toBeGreaterThan(10);
        },
      );
      expect(result.failures).toEqual([]);
    } finally {
      await proxy?.stop();
    }
  }, 600_000);
});
