import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { waitUntil } from './http';
import { freePort } from './ports';

const ROOT = join(__dirname, '../../../..');

/**
 * A built service (dist/apps/<app>/main.js, or `script` for one that is not a webpack bundle,
 * such as the dashboard's server) running as its own process, as in production: for tests
 * that kill processes or run several replicas. npm test builds before the integration tier;
 * run `npx nx run-many -t build` first when running such a test alone.
 */
export class ServiceProcess {
  readonly output: string[] = [];
  private child?: ChildProcess;

  private constructor(
    readonly app: string,
    readonly port: number,
    private readonly env: Record<string, string>,
    private readonly script: string,
    private readonly finite: boolean,
  ) {}

  /**
   * `options.script`: the entry point, relative to the workspace root (default dist/apps/<app>/main.js).
   * `options.finite`: the process ends by itself once its work is done (the feeder with COUNT): an
   * exit with 0 before its readiness answered counts as started, and the caller reads the code
   * with exited(). On a quick machine such a feeder can be done before the first readiness poll.
   */
  static async start(
    app: string,
    env: Record<string, string>,
    options: { script?: string; finite?: boolean } = {},
  ): Promise<ServiceProcess> {
    // The api serves /internal/* on a listener of its own (INTERNAL_PORT): a free port per process.
    const own = app === 'orchestrator-api' && !env.INTERNAL_PORT ? { ...env, INTERNAL_PORT: String(await freePort()) } : { ...env };
    const service = new ServiceProcess(
      app,
      await freePort(),
      own,
      options.script ?? join('dist/apps', app, 'main.js'),
      options.finite ?? false,
    );
    await service.restart();
    return service;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The api's internal listener (/internal/*): what the consumers' ORCHESTRATOR_URL points at. */
  get internalUrl(): string {
    if (!this.env.INTERNAL_PORT) throw new Error(`${this.app} has no INTERNAL_PORT`);
    return `http://127.0.0.1:${this.env.INTERNAL_PORT}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** (Re)starts the process, with `overrides` added to its env from now on, and waits until its readiness answers 200. */
  async restart(overrides: Record<string, string> = {}): Promise<void> {
    Object.assign(this.env, overrides);
    const main = join(ROOT, this.script);
    if (!existsSync(main)) throw new Error(`${main} is missing: build first (npx nx run-many -t build)`);
    const child = spawn(process.execPath, [main], {
      // NODE_ENV=test: production would also require API_KEY (or READ_API_OPEN) of the api and gateway.
      env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'warn', NODE_ENV: 'test', ...this.env, PORT: String(this.port), HOST: '127.0.0.1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    const keep = (chunk: Buffer) => {
      this.output.push(chunk.toString());
      if (this.output.length > 200) this.output.shift();
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    await waitUntil(
      async () => {
        if (child.exitCode === 0 && this.finite) return true;
        if (child.exitCode !== null) throw new Error(`${this.app} exited (${child.exitCode}): ${this.output.join('')}`);
        try {
          return (await fetch(`${this.url}/health/readiness`)).ok;
        } catch {
          return false;
        }
      },
      `${this.app} to be ready`,
      30_000,
    );
  }

  /** Resolves with the exit code once the process has ended by itself. */
  exited(): Promise<number | null> {
    const child = this.child;
    if (!child) return Promise.resolve(null);
    if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
    return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  /** Sends a signal and waits for the exit; SIGKILL is the crash of a process. */
  async kill(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return child?.exitCode ?? null;
    return new Promise((resolve) => {
      child.once('exit', (code) => resolve(code));
      child.kill(signal);
    });
  }
}
