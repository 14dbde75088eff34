import { Injectable } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import type { Counter } from 'prom-client';
import { GatewayEnv } from '@md/config';
import { addressSource } from '@md/platform';
import { REFUSED } from './gateway.metrics';

/**
 * Open streams (SSE and WS together) per client address, the address as TRUST_PROXY resolves
 * it and IPv6 by /64 (addressSource): past MAX_STREAMS_PER_ADDRESS a new stream is refused
 * (SSE 429 + Retry-After, WS error 429 then close 4429), counted as
 * `md_gateway_refused_total{reason="max_streams_per_address"}`. Without it one anonymous
 * visitor holding a stream token (reusable for STREAM_TOKEN_TTL_S) fills MAX_CLIENTS and every
 * other client gets 503. Per replica and in memory, like MAX_CLIENTS.
 */
@Injectable()
export class AddressStreams {
  private readonly open = new Map<string, number>();

  constructor(
    private readonly env: GatewayEnv,
    @InjectMetric(REFUSED) private readonly refusedCounter: Counter<string>,
  ) {}

  /**
   * Takes a place for one more stream of this address: the function that gives it back (call
   * it once, when the stream ends), or undefined (counted) when the address holds its cap.
   */
  acquire(address: string, transport: 'sse' | 'ws'): (() => void) | undefined {
    const max = this.env.MAX_STREAMS_PER_ADDRESS;
    if (max === 0) return () => undefined;
    const source = addressSource(address);
    const held = this.open.get(source) ?? 0;
    if (held >= max) {
      this.refusedCounter.inc({ transport, reason: 'max_streams_per_address' });
      return undefined;
    }
    this.open.set(source, held + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.open.get(source) ?? 1) - 1;
      if (left > 0) this.open.set(source, left);
      else this.open.delete(source);
    };
  }

  /** Streams this address holds now (for tests). */
  heldBy(address: string): number {
    return this.open.get(addressSource(address)) ?? 0;
  }
}
