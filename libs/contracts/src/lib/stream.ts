import type { RealtimeMessage } from './messages';
import type { SymbolView } from './view';

/**
 * What the realtime-gateway sends a stream client (SSE event names = `type`; on /ws the
 * same JSON as text frames). Realtime messages carry `seq`, the SSE `id:`.
 */

/**
 * First after connecting, after a reset, and (WS) after a filter change: the whole state as of
 * `seq`. A large snapshot comes in chunks (the gateway's SNAPSHOT_CHUNK_BYTES): several
 * snapshot messages with the same `seq`, every one but the last with `more: true` (and, on
 * SSE, no `id:`); the state is the views of all of them, complete with the last one.
 */
export interface SnapshotMessage {
  type: 'snapshot';
  seq: string;
  views: SymbolView[];
  /** More chunks of this snapshot follow. */
  more?: true;
}

/** The resume point could not be served; a snapshot follows on the same connection. */
export interface ResetMessage {
  type: 'reset';
  reason: string;
}

/** WS: the filter after a subscribe / unsubscribe. */
export interface SubscribedMessage {
  type: 'subscribed';
  symbols: string[] | '*';
  types: string[];
}

export type StreamMessage = SnapshotMessage | ResetMessage | SubscribedMessage | RealtimeMessage;

/** POST /stream/token. */
export interface StreamToken {
  token: string;
  expiresAt: number;
}
