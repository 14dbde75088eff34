import type { Sink, Transport } from '../stream/client';
import type { Published } from '../stream/published';

/**
 * The socket half of a Sink for the stream's unit specs, which write to memory instead of a
 * socket: a backlog the spec sets (`buffered`), `drained()` to play the socket emptying it, and a
 * peer that always answers heartbeats. Subclasses decide how frames are encoded and recorded.
 * Test code only: nothing shipped imports it.
 */
export abstract class FakeSocketSink implements Sink {
  abstract readonly transport: Transport;
  abstract readonly shareable: boolean;
  buffered = 0;
  private drain?: () => void;
  abstract encode(message: Published, id: string, skipped: number): string;
  abstract encodeEvent(event: string, data: object, id?: string): string;
  abstract write(frames: readonly string[]): void;
  abstract writeBytes(bytes: Buffer): void;
  abstract close(): void;
  bufferedBytes(): number {
    return this.buffered;
  }
  onDrain(listener: () => void): void {
    this.drain = listener;
  }
  /** The socket has written out its backlog: the drain listener runs. */
  drained(): void {
    this.buffered = 0;
    this.drain?.();
  }
  heartbeat(): boolean {
    return true;
  }
}
