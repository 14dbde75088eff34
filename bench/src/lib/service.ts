/**
 * A built app (dist/apps/<app>/main.js) or a bench script running as its own process, as in
 * production: started with its env, awaited until its readiness answers, stopped with SIGTERM
 * (so a --cpu-prof profile gets written). Its output goes to a log file for post-mortems.
 *
 * Not @md/testing's ServiceProcess: that one runs an app as a test wants it (NODE_ENV=test,
 * output in memory, restart and kill); the bench runs NODE_ENV=production, with node flags
 * (--cpu-prof, --require), arguments (`migrate`), one-shot processes whose exit code counts,
 * and a stop that waits for a clean exit. Ports and waits are @md/testing's.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { freePort, waitUntil } from '@md/testing';
import { path } from './env';

/** The workspace root: every bench bundle is dist/bench/<name>.js. */
export const ROOT = resolve(__dirname, '../..');

/** A script of the bench's own build (dist/bench/<name>.js), for fork or Service.start. */
export const benchScript = (name: string): string => join(__dirname, `${name}.js`);

export interface ServiceOptions {
  port?: number;
  nodeArgs?: string[];
  args?: string[];
  logDir?: string;
  /** Keep every line of output (`lines`), not only the last ones. */
  keepLines?: boolean;
  readyPath?: string;
  /** false: do not wait for readiness (one-shot processes: migrate, the feeder). */
  wait?: boolean;
}

export class Service {
  /** The last lines of output, for error messages. */
  readonly tail: string[] = [];
  readonly lines: string[] = [];
  /** Resolves with the exit code (or the signal) once the process has ended. */
  exit: Promise<number | string | null> = Promise.resolve(null);
  private child?: ChildProcess;

  private constructor(
    readonly name: string,
    private readonly script: string,
    private readonly env: Record<string, string>,
    readonly port: number,
    private readonly options: ServiceOptions,
  ) {}

  /** Starts a script (absolute, or relative to the workspace root). */
  static async start(name: string, script: string, env: Record<string, string>, options: ServiceOptions = {}): Promise<Service> {
    const port = options.port ?? (await freePort());
    const service = new Service(name, script, env, port, options);
    service.spawn();
    if (options.wait !== false) await service.ready();
    return service;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  private spawn(): void {
    const main = resolve(ROOT, this.script);
    if (!existsSync(main)) throw new Error(`${main} is missing: build first (npx nx run-many -t build)`);
    const { logDir, nodeArgs = [], args = [], keepLines = false } = this.options;
    const log = logDir ? createWriteStream(join(logDir, `${this.name}.log`), { flags: 'a' }) : undefined;
    const child = spawn(process.execPath, [...nodeArgs, main, ...args], {
      cwd: ROOT,
      env: { PATH: path(), NODE_ENV: 'production', LOG_LEVEL: 'warn', ...this.env, PORT: String(this.port), HOST: '127.0.0.1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    let partial = '';
    const keep = (chunk: Buffer) => {
      log?.write(chunk);
      const lines = (partial + chunk.toString()).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        this.tail.push(line);
        if (this.tail.length > 50) this.tail.shift();
        if (keepLines) this.lines.push(line);
      }
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    this.exit = new Promise((done) => child.once('exit', (code, signal) => done(code ?? signal)));
    void this.exit.then(() => log?.end());
  }

  async ready(timeoutMs = 60_000): Promise<void> {
    const readyPath = this.options.readyPath ?? '/health/readiness';
    await waitUntil(
      async () => {
        if (!this.running)
          throw new Error(`${this.name} exited (${this.child?.exitCode ?? this.child?.signalCode}):\n${this.tail.join('\n')}`);
        try {
          return (await fetch(`${this.url}${readyPath}`, { signal: AbortSignal.timeout(2_000) })).ok;
        } catch {
          return false;
        }
      },
      `${this.name} to be ready`,
      timeoutMs,
      100,
    );
  }

  /** SIGTERM (then SIGKILL after `graceMs`); resolves once the process has exited. */
  async stop(graceMs = 20_000): Promise<number | string | null> {
    const child = this.child;
    if (!child || !this.running) return this.exit;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    const code = await this.exit;
    clearTimeout(timer);
    return code;
  }
}
