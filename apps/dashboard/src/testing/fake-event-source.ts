import type { EventSourceLike } from '../stream/stream-client';

/**
 * A stand-in for the browser's EventSource in unit tests: the test opens it, emits named
 * events and errors. (The end-to-end test drives the real one against the real gateway.)
 */
export class FakeEventSource implements EventSourceLike {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSED = 2;
  readyState = FakeEventSource.CONNECTING;
  onopen: ((event: Event) => void) | null = null;
  onerror: ((event: Event) => void) | null = null;
  closed = false;
  private readonly listeners = new Map<string, ((event: MessageEvent<string>) => void)[]>();

  constructor(readonly url: string) {}

  addEventListener(type: string, listener: (event: MessageEvent<string>) => void): void {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener]);
  }

  close(): void {
    this.closed = true;
    this.readyState = FakeEventSource.CLOSED;
  }

  open(): void {
    this.readyState = FakeEventSource.OPEN;
    this.onopen?.(new Event('open'));
  }

  emit(type: string, data: unknown, id?: string): void {
    const event = new MessageEvent<string>(type, { data: typeof data === 'string' ? data : JSON.stringify(data), lastEventId: id ?? '' });
    for (const listener of this.listeners.get(type) ?? []) listener(event);
  }

  /** A dropped connection the browser retries by itself (CONNECTING), or gives up on (CLOSED, e.g. a 401). */
  fail(giveUp = false): void {
    this.readyState = giveUp ? FakeEventSource.CLOSED : FakeEventSource.CONNECTING;
    this.onerror?.(new Event('error'));
  }

  get query(): URLSearchParams {
    return new URL(this.url, 'http://dashboard.test').searchParams;
  }
}

/** A factory that remembers every EventSource it made, newest last. */
export function fakeEventSources() {
  const all: FakeEventSource[] = [];
  return {
    all,
    create: (url: string) => {
      const source = new FakeEventSource(url);
      all.push(source);
      return source;
    },
    get latest(): FakeEventSource {
      const last = all[all.length - 1];
      if (!last) throw new Error('no EventSource was created');
      return last;
    },
  };
}
