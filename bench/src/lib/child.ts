/**
 * A bench helper (load generator, SSE fleet, …) in a child process of its own, driven over
 * IPC one command at a time: `call(message)` resolves with the child's answer. `serve` is the
 * child's side.
 */
import { type ChildProcess, fork } from 'node:child_process';
import type { ClientReceipt } from './coverage';
import { inheritedEnv } from './env';
import type { FleetCollect, FleetConnect, FleetConnectOptions, FleetWindowCounts } from './fleet-window';
import { benchScript } from './service';
import { LogHistogram, round, type Summary } from './stats';

export interface Command {
  cmd: string;
  [key: string]: unknown;
}

type Answer = { type: 'result'; result: unknown } | { type: 'error'; error: string };

/**
 * The child side: answers each command with what `handle` resolves to (or its error);
 * `exit` ends the process.
 */
export function serve(handle: (message: Command) => Promise<unknown> | unknown): void {
  process.on('message', async (message: Command) => {
    if (message.cmd === 'exit') process.exit(0);
    const send = (answer: Answer) => process.send?.(answer);
    try {
      send({ type: 'result', result: await handle(message) });
    } catch (error) {
      send({ type: 'error', error: String((error as Error)?.stack ?? error) });
    }
  });
}

export class Child {
  readonly process: ChildProcess;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly exit: Promise<unknown>;

  /** `script`: a bundle of the bench's build (dist/bench/<script>.js). */
  constructor(
    script: string,
    readonly name: string,
    env: Record<string, string> = {},
  ) {
    this.process = fork(benchScript(script), [], {
      env: { ...inheritedEnv(), ...env },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.exit = new Promise((resolve) => this.process.once('exit', resolve));
  }

  get pid(): number | undefined {
    return this.process.pid;
  }

  call<R>(message: Command): Promise<R> {
    const run = () =>
      new Promise<R>((resolve, reject) => {
        const onMessage = (answer: Answer) => {
          cleanup();
          if (answer.type === 'error') reject(new Error(`${this.name}: ${answer.error}`));
          else resolve(answer.result as R);
        };
        const onExit = (code: number | null) => {
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

  async stop(): Promise<void> {
    if (this.process.exitCode !== null) return;
    this.process.send({ cmd: 'exit' });
    const timer = setTimeout(() => this.process.kill('SIGKILL'), 5_000);
    await this.exit;
    clearTimeout(timer);
  }
}

/** One window of a whole fleet: counts summed over its processes, latency histograms merged. */
export interface FleetWindowSummary extends FleetWindowCounts {
  deliveryMs: Summary;
  fromPublishMs: Summary;
  e2eMs: Summary;
  heartbeatGapMs?: Summary;
}

/** Several SSE fleet processes as one: clients are spread evenly, windows are merged. */
export class Fleet {
  readonly children: Child[];

  /** `script`: sse-fleet (default) or socketio-fleet. */
  constructor(processes: number, name = 'sse-fleet', script = 'sse-fleet') {
    this.children = Array.from({ length: processes }, (_, i) => new Child(script, `${name}-${i}`));
  }

  get pids(): (number | undefined)[] {
    return this.children.map((c) => c.pid);
  }

  async connect(options: FleetConnectOptions): Promise<FleetConnect> {
    const n = this.children.length;
    const share = (i: number) => Math.floor(options.count / n) + (i < options.count % n ? 1 : 0);
    const answers = await Promise.all(
      this.children.map((child, i) =>
        child.call<FleetConnect>({
          ...options,
          cmd: 'connect',
          count: share(i),
          perSecond: Math.ceil((options.perSecond ?? 1000) / n),
          maxPending: options.maxPending && Math.ceil(options.maxPending / n),
        }),
      ),
    );
    return answers.reduce(
      (sum, a) => ({ connected: sum.connected + a.connected, failed: sum.failed + a.failed, pending: sum.pending + a.pending }),
      {
        connected: 0,
        failed: 0,
        pending: 0,
      },
    );
  }

  start(): Promise<unknown[]> {
    return Promise.all(this.children.map((c) => c.call({ cmd: 'start' })));
  }

  /** One window over all processes: counts summed, latency histograms merged. */
  async collect(): Promise<FleetWindowSummary> {
    const parts = await Promise.all(this.children.map((c) => c.call<FleetCollect>({ cmd: 'collect' })));
    const merge = (key: 'delivery' | 'fromPublish' | 'e2e' | 'heartbeatGap') =>
      parts.reduce((h, p) => h.merge(LogHistogram.fromJSON(p[key])), new LogHistogram()).summary(2);
    const sum = (key: 'clients' | 'messages' | 'mbPerS' | 'outOfOrder' | 'resets' | 'skipped' | 'heartbeats') =>
      parts.reduce((s, p) => s + (p[key] ?? 0), 0);
    const seconds = Math.max(...parts.map((p) => p.seconds));
    const byType: Record<string, number> = {};
    for (const part of parts) for (const [type, n] of Object.entries(part.byType)) byType[type] = (byType[type] ?? 0) + n;
    return {
      seconds,
      clients: sum('clients'),
      messages: sum('messages'),
      byType,
      messagesPerS: round(sum('messages') / seconds, 1),
      mbPerS: round(sum('mbPerS'), 2),
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

  /** What each live client received since start (coverage.ts). */
  async receipts(): Promise<ClientReceipt[]> {
    const parts = await Promise.all(this.children.map((c) => c.call<ClientReceipt[]>({ cmd: 'receipts' })));
    return parts.flat();
  }

  close(): Promise<unknown[]> {
    return Promise.all(this.children.map((c) => c.call({ cmd: 'close' })));
  }

  stop(): Promise<void[]> {
    return Promise.all(this.children.map((c) => c.stop()));
  }
}
