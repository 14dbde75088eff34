import type { ReceivedTick } from './tick';
import { MessageType } from './names';
import type { SymbolUpdatedMessage } from './view';

/**
 * Messages on the realtime channel. Every published message carries `seq`, the id of its
 * entry in the capped history stream written in the same atomic step as the publish:
 * monotonic across all publishers, so a subscriber can detect and fill gaps.
 */
export interface TickReceivedMessage extends ReceivedTick {
  type: typeof MessageType.TickReceived;
  seq?: string;
}

export type RealtimeMessage = TickReceivedMessage | SymbolUpdatedMessage;

export function tickReceivedMessage(tick: ReceivedTick): TickReceivedMessage {
  return { type: MessageType.TickReceived, ...tick };
}

/**
 * JSON.stringify(tickReceivedMessage(tick)) up to the tick's own fields: the message's JSON is
 * this head followed by JSON.stringify(tick) without its opening brace. The ingest's commit
 * script (mdCommit) builds each message so from the tick's JSON, which it appends to the flush
 * buffer too: the api serialises a tick once.
 */
export const TICK_RECEIVED_JSON_HEAD = `${JSON.stringify({ type: MessageType.TickReceived }).slice(0, -1)},`;
