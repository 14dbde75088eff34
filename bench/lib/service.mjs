/**
 * A built app (dist/apps/<app>/main.js) or a bench script running as its own process, as in
 * production: started with its env, awaited until its readiness answers, stopped with SIGTERM
 * (so a --cpu-prof profile gets written). Its output goes to a log file for post-mortems.
 */
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import net from 'node:net';
import { join, resolve } from 'node:path';

export const ROOT = new URL('../..', import.meta.url).pathname;

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

export async function waitUntil(check, what, timeoutMs = 30_000, everyMs = 100) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

export class Service {
  /** The last lines of output, for error messages. */
  tail = [];
  lines = [];

  constructor(name, script, env, { port, nodeArgs = [], args = [], logDir, keepLines = false, readyPath = '/health/readiness' }) {
    Object.assign(this, { name, script, env, port, nodeArgs, args, logDir, keepLines, readyPath });
  }

  /** Starts a script (absolute, or relative to the workspace root). */
  static async start(name, script, env, options = {}) {
    const port = options.port ?? (await freePort());
    const service = new Service(name, script, env, { ...options, port });
    await service.spawn();
    if (options.wait !== false) await service.ready();
    return service;
  }

  get url() {
    return `http://127.0.0.1:${this.port}`;
  }

  get pid() {
    return this.child?.pid;
  }

  get running() {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  async spawn() {
    const main = resolve(ROOT, this.script);
    if (!existsSync(main)) throw new Error(`${main} is missing: build first (npx nx run-many -t build)`);
    const log = this.logDir ? createWriteStream(join(this.logDir, `${this.name}.log`), { flags: 'a' }) : undefined;
    this.child = spawn(process.execPath, [...this.nodeArgs, main, ...this.args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', NODE_ENV: 'production', LOG_LEVEL: 'warn', ...this.env, PORT: String(this.port), HOST: '127.0.0.1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let partial = '';
    const keep = (chunk) => {
      log?.write(chunk);
      const text = partial + chunk.toString();
      const lines = text.split('\n');
      partial = lines.pop();
      for (const line of lines) {
        this.tail.push(line);
        if (this.tail.length > 50) this.tail.shift();
        if (this.keepLines) this.lines.push(line);
      }
    };
    this.child.stdout.on('data', keep);
    this.child.stderr.on('data', keep);
    this.exit = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve(code ?? signal)));
    this.exit.then(() => log?.end());
  }

  async ready(timeoutMs = 60_000) {
    await waitUntil(
      async () => {
        if (!this.running) throw new Error(`${this.name} exited (${this.child.exitCode ?? this.child.signalCode}):\n${this.tail.join('\n')}`);
        try {
          return (await fetch(`${this.url}${this.readyPath}`, { signal: AbortSignal.timeout(2_000) })).ok;
        } catch {
          return false;
        }
      },
      `${this.name} to be ready`,
      timeoutMs,
    );
  }

  /** SIGTERM (then SIGKILL after `graceMs`); resolves once the process has exited. */
  async stop(graceMs = 20_000) {
    if (!this.running) return this.exit;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    const code = await this.exit;
    clearTimeout(timer);
    return code;
  }
}
