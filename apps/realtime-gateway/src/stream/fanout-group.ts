import type { StreamClient } from './client';
import type { StreamFilter } from './filter';
import type { Published } from './published';
import { sseFrame } from './sinks';

/**
 * The SSE clients of one filter that are in step: live, nothing held or gathered, socket not
 * congested, no maxHz. Their output from one write tick to the next is, byte for byte, the SSE
 * frames of the messages that matched the filter, each with its own seq as id. So the group
 * gathers those frames, encodes them once per tick, and the same Buffer goes to every member:
 * one write per client per tick, and no per-client encoding. A member that falls behind leaves
 * the group (StreamHub) and is served on its own, with conflation, until it is in step again.
 */
export class FanoutGroup {
  readonly members = new Set<StreamClient>();
  /** Messages gathered since the last tick, in seq order, and the length of their frames. */
  messages: Published[] = [];
  bytes = 0;

  constructor(
    readonly key: string,
    readonly filter: StreamFilter,
  ) {}

  /** A stable key per filter: clients with equal filters share a group. */
  static keyOf(filter: StreamFilter): string {
    const types = [...filter.types].sort().join(',');
    return filter.symbols === null ? `${types}|*` : `${types}|${[...filter.symbols].sort().join(',')}`;
  }

  push(message: Published): boolean {
    if (!this.filter.types.has(message.type)) return false;
    this.messages.push(message);
    this.bytes += sseFrame(message).length;
    return true;
  }

  /** The gathered frames as one buffer, and the group ready for the next tick. */
  take(): { bytes: Buffer; messages: Published[] } {
    const messages = this.messages;
    this.messages = [];
    this.bytes = 0;
    let text = '';
    for (const message of messages) text += sseFrame(message);
    return { bytes: Buffer.from(text), messages };
  }
}
