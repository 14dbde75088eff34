import { sleep } from '@md/common';
import { SseClient, type SseEvent } from '@md/testing';

/**
 * A browser's EventSource, as far as resuming goes: it reads /stream and, whenever the
 * connection ends, reconnects after `retry` with the last event id it saw (Last-Event-ID), for
 * as long as it is running. Every event of every connection is kept, in order.
 */
export class StreamWatcher {
  readonly events: SseEvent[] = [];
  connections = 0;
  private client?: SseClient;
  private running = true;
  private lastEventId?: string;
  private loop?: Promise<void>;

  constructor(
    private url: string,
    private readonly headers: Record<string, string>,
  ) {}

  start(): void {
    this.loop = this.run();
  }

  /** Where to reconnect to (a gateway restarted on another port). */
  retarget(url: string): void {
    this.url = url;
  }

  async stop(): Promise<void> {
    this.running = false;
    this.client?.close();
    await this.loop;
  }

  private async run(): Promise<void> {
    while (this.running) {
      try {
        const headers = this.lastEventId ? { ...this.headers, 'last-event-id': this.lastEventId } : this.headers;
        const client = await SseClient.connect(this.url, headers);
        this.client = client;
        if (client.status === 200) {
          this.connections += 1;
          let seen = 0;
          while (this.running && !client.ended) {
            for (; seen < client.events.length; seen += 1) this.events.push(client.events[seen]);
            if (client.lastEventId) this.lastEventId = client.lastEventId;
            await sleep(20);
          }
          for (; seen < client.events.length; seen += 1) this.events.push(client.events[seen]);
          if (client.lastEventId) this.lastEventId = client.lastEventId;
        }
      } catch {
        // refused: the gateway is down; retry like an EventSource does
      }
      if (this.running) await sleep(250);
    }
  }
}
