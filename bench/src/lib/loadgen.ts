/**
 * The bench's HTTP load generator, run as a child process (fork) so that its CPU is its own
 * and it never shares an event loop with what it measures. HTTP/1.1 keep-alive on raw
 * sockets (request bytes built by hand, responses parsed only as far as needed), so it costs
 * the 2 shared cores as little as possible; the same generator drives orchestrator-api and
 * the rawIngest baseline.
 *
 * Modes:
 *  - open: requests are due at a fixed rate (tick n at start + n / rate), whatever the answers;
 *    a due request waits for a free connection (it is then "late"). `ackMs` is measured from
 *    the actual send, `ackIntendedMs` from when it was due (no coordinated omission).
 *  - closed: every connection sends its next request as soon as the previous one is answered
 *    (saturation throughput).
 *
 * Protocol (IPC): {cmd: 'run', ...RunOptions} → {type: 'result', result}; {cmd: 'exit'}.
 */
import net from 'node:net';
import { type Command, serve } from './child';
import { round, type Summary, summarize } from './stats';

const SYMBOLS = ['BTCUSDT', 'ETHUSDT', 'SOLUSDT', 'BNBUSDT', 'XRPUSDT'];
const REQUEST_TIMEOUT_MS = 10_000;

class TickSource {
  n = 0;
  private readonly prices = SYMBOLS.map((_, i) => 100 * (i + 1));

  constructor(private readonly tag: string) {}

  next() {
    const k = this.n % SYMBOLS.length;
    this.prices[k] = Math.max(0.01, this.prices[k] * (1 + (Math.random() - 0.5) * 0.001));
    const tick = {
      symbol: SYMBOLS[k],
      price: Number(this.prices[k].toFixed(4)),
      volume: Number((Math.random() * 2).toFixed(4)),
      source: 'bench',
      ts: Date.now(),
      event_id: `${this.tag}-${this.n}`,
    };
    this.n += 1;
    return tick;
  }
}

interface RequestMeta {
  intended: number;
  sentAt?: number;
}

type OnDone = (connection: Connection, meta: RequestMeta, status: number, body: string) => void;

/** One keep-alive connection with at most one request in flight. */
class Connection {
  private pending?: RequestMeta;
  private buffer: Buffer = Buffer.alloc(0);
  private socket?: net.Socket;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly options: { host: string; port: number; stopped: () => boolean },
    private readonly onDone: OnDone,
  ) {
    this.connect();
  }

  private connect(): void {
    const socket = net.connect({ host: this.options.host, port: this.options.port });
    socket.setNoDelay(true);
    socket.on('data', (chunk) => this.onData(chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      if (this.socket !== socket) return;
      this.fail();
      if (!this.options.stopped()) this.connect();
    });
    this.socket = socket;
    this.buffer = Buffer.alloc(0);
  }

  send(bytes: Buffer, meta: RequestMeta): void {
    this.pending = meta;
    meta.sentAt = performance.now();
    this.timer = setTimeout(() => this.socket?.destroy(), REQUEST_TIMEOUT_MS);
    this.socket?.write(bytes);
  }

  private fail(): void {
    if (!this.pending) return;
    const meta = this.pending;
    this.pending = undefined;
    clearTimeout(this.timer);
    this.onDone(this, meta, 0, '');
  }

  private onData(chunk: Buffer): void {
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
    for (;;) {
      const headerEnd = this.buffer.indexOf('\r\n\r\n');
      if (headerEnd < 0) return;
      const head = this.buffer.toString('latin1', 0, headerEnd);
      const status = Number(head.slice(9, 12));
      const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
      const bodyStart = headerEnd + 4;
      let bodyEnd: number;
      if (length) {
        bodyEnd = bodyStart + Number(length[1]);
        if (this.buffer.length < bodyEnd) return;
      } else if (/\r\ntransfer-encoding:\s*chunked/i.test(head)) {
        const last = this.buffer.indexOf('\r\n0\r\n\r\n', headerEnd);
        if (last < 0) return;
        bodyEnd = last + 7;
      } else {
        bodyEnd = bodyStart;
      }
      const body = this.buffer.toString('utf8', bodyStart, bodyEnd);
      this.buffer = this.buffer.subarray(bodyEnd);
      const meta = this.pending;
      this.pending = undefined;
      clearTimeout(this.timer);
      if (meta) this.onDone(this, meta, status, body);
    }
  }

  close(): void {
    const socket = this.socket;
    this.socket = undefined;
    socket?.destroy();
  }
}

export interface RunOptions {
  host: string;
  port: number;
  path: string;
  /** 'user:password' */
  auth?: string;
  mode: 'open' | 'closed';
  /** ticks/s, open mode */
  rate?: number;
  /** ticks per request, 1 = /ingest/tick */
  batch?: number;
  connections: number;
  durationMs: number;
  warmupMs?: number;
  windowMs?: number;
  tag: string;
}

export interface LoadWindow {
  dueTps: number;
  okRps: number;
  acceptedTps: number;
  errors: number;
  late: number;
  statuses: Record<string, number>;
  ackMs: Summary;
  ackIntendedMs: Summary;
}

export interface LoadResult {
  windows: LoadWindow[];
  overall: {
    dueTps: number;
    okRps: number;
    acceptedTps: number;
    accepted: number;
    errors: number;
    late: number;
    ackMs: Summary;
    ackIntendedMs: Summary;
  };
  sentTicks: number;
}

interface Window {
  due: number;
  ok: number;
  errors: number;
  ticks: number;
  late: number;
  ack: number[];
  ackIntended: number[];
  statuses: Record<string, number>;
}

/** Resolves to per-window and overall summaries. */
async function run(options: RunOptions): Promise<LoadResult> {
  const batch = options.batch ?? 1;
  const authHeader = options.auth ? `Authorization: Basic ${Buffer.from(options.auth).toString('base64')}\r\n` : '';
  const source = new TickSource(options.tag);
  const request = () => {
    const body = batch === 1 ? JSON.stringify(source.next()) : JSON.stringify(Array.from({ length: batch }, () => source.next()));
    return Buffer.from(
      `POST ${options.path} HTTP/1.1\r\nHost: ${options.host}:${options.port}\r\n${authHeader}Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
  };
  const warmupMs = options.warmupMs ?? 0;
  const durationMs = options.durationMs;
  const windowMs = options.windowMs ?? durationMs;
  const windows: Window[] = Array.from({ length: Math.max(1, Math.ceil(durationMs / windowMs)) }, () => ({
    due: 0,
    ok: 0,
    errors: 0,
    ticks: 0,
    late: 0,
    ack: [],
    ackIntended: [],
    statuses: {},
  }));
  let stopped = false;
  const idle: Connection[] = [];
  const start = performance.now() + 50;
  const end = start + warmupMs + durationMs;
  const windowOf = (t: number): Window | undefined => {
    const offset = t - start - warmupMs;
    return offset < 0 || offset >= durationMs ? undefined : windows[Math.floor(offset / windowMs)];
  };

  let finish: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  let inFlight = 0;
  const backlog: number[] = [];
  let backlogHead = 0;
  let scheduled = 0;
  const intervalMs = options.mode === 'open' ? (1000 * batch) / (options.rate ?? 1) : 0;

  const dispatch = () => {
    while (idle.length && backlogHead < backlog.length) {
      const intended = backlog[backlogHead++];
      const connection = idle.pop() as Connection;
      inFlight += 1;
      const meta: RequestMeta = { intended };
      const window = windowOf(intended);
      if (window && performance.now() - intended > 1) window.late += 1;
      connection.send(request(), meta);
    }
    if (backlogHead > 10_000) {
      backlog.splice(0, backlogHead);
      backlogHead = 0;
    }
  };

  const onDone: OnDone = (connection, meta, status, body) => {
    inFlight -= 1;
    const now = performance.now();
    const window = windowOf(meta.intended);
    if (window) {
      window.statuses[status] = (window.statuses[status] ?? 0) + 1;
      if (status === 200) {
        window.ok += 1;
        window.ack.push(now - (meta.sentAt ?? meta.intended));
        window.ackIntended.push(now - meta.intended);
        if (batch === 1) window.ticks += body.includes('"accepted"') ? 1 : 0;
        else window.ticks += Number(/"accepted":(\d+)/.exec(body)?.[1] ?? 0);
      } else {
        window.errors += 1;
      }
    }
    if (stopped) {
      if (inFlight === 0) finish();
      return;
    }
    idle.push(connection);
    if (options.mode === 'closed') {
      if (now < end) {
        backlog.push(now);
        dispatch();
      } else if (inFlight === 0) finish();
    } else dispatch();
  };

  const connections = Array.from(
    { length: options.connections },
    () => new Connection({ host: options.host, port: options.port, stopped: () => stopped }, onDone),
  );
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, start - performance.now())));
  idle.push(...connections);

  if (options.mode === 'closed') {
    for (let i = 0; i < connections.length; i++) backlog.push(performance.now());
    dispatch();
    await new Promise((resolve) => setTimeout(resolve, end - performance.now()));
  } else {
    const total = Math.floor((warmupMs + durationMs) / intervalMs);
    await new Promise<void>((resolve) => {
      const pump = () => {
        const now = performance.now();
        const due = Math.min(total, Math.floor((now - start) / intervalMs) + 1);
        for (; scheduled < due; scheduled++) {
          const intended = start + scheduled * intervalMs;
          backlog.push(intended);
          const window = windowOf(intended);
          if (window) window.due += batch;
        }
        dispatch();
        if (scheduled >= total) resolve();
        else setTimeout(pump, 1);
      };
      pump();
    });
  }
  // Let what is in flight finish (bounded), then stop.
  const drainUntil = performance.now() + REQUEST_TIMEOUT_MS;
  while ((inFlight > 0 || backlogHead < backlog.length) && performance.now() < drainUntil && options.mode === 'open') {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  stopped = true;
  if (inFlight > 0) await Promise.race([finished, new Promise((resolve) => setTimeout(resolve, REQUEST_TIMEOUT_MS))]);
  for (const connection of connections) connection.close();

  const seconds = windowMs / 1000;
  const summaries = windows.map((w) => ({
    dueTps: round(w.due / seconds, 1),
    okRps: round(w.ok / seconds, 1),
    acceptedTps: round(w.ticks / seconds, 1),
    errors: w.errors,
    late: w.late,
    statuses: w.statuses,
    ackMs: summarize(w.ack, 3),
    ackIntendedMs: summarize(w.ackIntended, 3),
  }));
  const all = (key: 'ack' | 'ackIntended') => windows.flatMap((w) => w[key]);
  const sum = (key: 'due' | 'ok' | 'ticks' | 'errors' | 'late') => windows.reduce((s, w) => s + w[key], 0);
  const totalSeconds = durationMs / 1000;
  return {
    windows: summaries,
    overall: {
      dueTps: round(sum('due') / totalSeconds, 1),
      okRps: round(sum('ok') / totalSeconds, 1),
      acceptedTps: round(sum('ticks') / totalSeconds, 1),
      accepted: sum('ticks'),
      errors: sum('errors'),
      late: sum('late'),
      ackMs: summarize(all('ack'), 3),
      ackIntendedMs: summarize(all('ackIntended'), 3),
    },
    sentTicks: source.n,
  };
}

serve((message: Command) => (message.cmd === 'run' ? run(message as unknown as RunOptions) : undefined));
