/**
 * A bench helper (load generator, SSE fleet, …) in a child process of its own, driven over
 * IPC one command at a time: `call(message)` resolves with the child's answer.
 */
import { fork } from 'node:child_process';
import stats from './stats.cjs';

export class Child {
  constructor(modulePath, name, env = {}) {
    this.name = name;
    this.process = fork(new URL(modulePath, import.meta.url).pathname, [], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.queue = Promise.resolve();
    this.exit = new Promise((resolve) => this.process.once('exit', resolve));
  }

  get pid() {
    return this.process.pid;
  }

  call(message) {
    const run = () =>
      new Promise((resolve, reject) => {
        const onMessage = (answer) => {
          cleanup();
          if (answer.type === 'error') reject(new Error(`${this.name}: ${answer.error}`));
          else resolve(answer.result);
        };
        const onExit = (code) => {
          cleanup();
          reject(new Error(`${this.name} exited (${code}) during ${message.cmd}`));
        };
        const cleanup = () => {
          this.process.off('message', onMessage);
          this.process.off('exit', onExit);
        };
        this.process.on('message', onMessage);
        this.process.once('exit', onExit);
        this.process.send(message);
      });
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => undefined);
    return result;
  }

  async stop() {
    if (this.process.exitCode !== null) return;
    this.process.send({ cmd: 'exit' });
    const timer = setTimeout(() => this.process.kill('SIGKILL'), 5_000);
    await this.exit;
    clearTimeout(timer);
  }
}

/** Several SSE fleet processes as one: clients are spread evenly, windows are merged. */
export class Fleet {
  constructor(processes, name = 'sse-fleet', module = './sse-fleet.mjs') {
    this.children = Array.from({ length: processes }, (_, i) => new Child(module, `${name}-${i}`));
  }

  get pids() {
    return this.children.map((c) => c.pid);
  }

  async connect(options) {
    const share = (i) => Math.floor(options.count / this.children.length) + (i < options.count % this.children.length ? 1 : 0);
    const answers = await Promise.all(
      this.children.map((child, i) => child.call({ cmd: 'connect', ...options, count: share(i), perSecond: Math.ceil((options.perSecond ?? 1000) / this.children.length) })),
    );
    return answers.reduce((sum, a) => ({ connected: sum.connected + a.connected, failed: sum.failed + a.failed, pending: sum.pending + a.pending }), {
      connected: 0,
      failed: 0,
      pending: 0,
    });
  }

  start() {
    return Promise.all(this.children.map((c) => c.call({ cmd: 'start' })));
  }

  /** One window over all processes: counts summed, latency histograms merged. */
  async collect() {
    const parts = await Promise.all(this.children.map((c) => c.call({ cmd: 'collect' })));
    const merge = (key) => parts.reduce((h, p) => h.merge(stats.LogHistogram.fromJSON(p[key])), new stats.LogHistogram()).summary(2);
    const sum = (key) => parts.reduce((s, p) => s + (p[key] ?? 0), 0);
    const seconds = Math.max(...parts.map((p) => p.seconds));
    const byType = {};
    for (const part of parts) for (const [type, n] of Object.entries(part.byType)) byType[type] = (byType[type] ?? 0) + n;
    return {
      seconds,
      clients: sum('clients'),
      messages: sum('messages'),
      byType,
      messagesPerS: stats.round(sum('messages') / seconds, 1),
      mbPerS: stats.round(sum('mbPerS'), 2),
      outOfOrder: sum('outOfOrder'),
      resets: sum('resets'),
      skipped: sum('skipped'),
      deliveryMs: merge('delivery'),
      fromPublishMs: merge('fromPublish'),
      e2eMs: merge('e2e'),
      heartbeats: sum('heartbeats'),
      heartbeatGapMs: parts.every((p) => p.heartbeatGap) ? merge('heartbeatGap') : undefined,
    };
  }

  close() {
    return Promise.all(this.children.map((c) => c.call({ cmd: 'close' })));
  }

  stop() {
    return Promise.all(this.children.map((c) => c.stop()));
  }
}
