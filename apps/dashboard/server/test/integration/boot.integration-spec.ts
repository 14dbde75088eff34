import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';

/**
 * The built server (dist/apps/dashboard-server/main.js) as a process: it refuses a bad variable
 * with exit code 78 and one JSON line, and starts with nothing behind it, reporting that in /status.
 */
const MAIN = join(__dirname, '../../../../../dist/apps/dashboard-server/main.js');

describe('the built dashboard server', () => {
  it('stops the process with exit code 78 and one JSON line on a bad variable', () => {
    const run = spawnSync(process.execPath, [MAIN], {
      env: { PATH: process.env.PATH, API_KEY: 'tiny', PORT: 'x' },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(run.status).toBe(78);
    const line = JSON.parse(run.stderr.trim());
    expect(line).toMatchObject({
      level: 'fatal',
      service: 'dashboard',
      problems: ['API_KEY: must be at least 16 characters when set', 'PORT: must be an integer between 0 and 65535'],
    });
    expect(run.stderr).not.toContain('tiny');
  });

  it('starts with every upstream down, live, and says so in /status', async () => {
    const port = String(20_000 + Math.floor(Math.random() * 20_000));
    const down = 'http://127.0.0.1:1';
    const child = spawn(process.execPath, [MAIN], {
      env: {
        PATH: process.env.PATH,
        PORT: port,
        HOST: '127.0.0.1',
        API_URL: down,
        GATEWAY_URL: down,
        CONSUMERS_URL: down,
        FEEDER_URL: down,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const url = `http://127.0.0.1:${port}`;
      let live: Response | undefined;
      for (let i = 0; i < 100 && !live; i++) {
        live = await fetch(`${url}/health/liveness`).catch(() => undefined);
        if (!live) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(live?.status).toBe(200);
      const status = await (await fetch(`${url}/status`)).json();
      expect(status.services.map((service: { ready: boolean }) => service.ready)).toEqual([false, false, false, false]);
      expect(status).toMatchObject({ pipeline: null, pipelineError: 'api unreachable' });
      const proxied = await fetch(`${url}/api/symbols`);
      expect({ status: proxied.status, body: await proxied.json() }).toEqual({
        status: 502,
        body: { statusCode: 502, error: 'Bad Gateway', message: 'api unreachable' },
      });
    } finally {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    }
  });
});
