import { isSeq } from '@md/contracts';
/** A message of the realtime channel as the gateway handles it: parsed once, forwarded as published. */
export interface Published {
  readonly seq: string;
  readonly type: string;
  readonly symbol: string;
  /** The message JSON, `seq` included, exactly as published. */
  readonly raw: string;
  /** When the api received the tick behind the message (epoch ms), for the delivery latency. */
  readonly receivedAt?: number;
  /** The SSE frame of the common case (id = seq, nothing skipped), built once for every client. */
  sse?: string;
}

/** A message from the channel, or undefined if it is not one of ours (no seq, type or symbol). */
export function parsePublished(raw: string): Published | undefined {
  let message: { seq?: unknown; type?: unknown; symbol?: unknown; receivedAt?: unknown };
  try {
    message = JSON.parse(raw);
  } catch {
    return undefined;
  }
  const { seq, type, symbol, receivedAt } = message ?? {};
  if (typeof seq !== 'string' || !isSeq(seq) || typeof type !== 'string' || typeof symbol !== 'string') return undefined;
  // JSON.stringify never emits a raw newline, but an SSE data line must not hold one.
  const line = raw.includes('\n') ? JSON.stringify(message) : raw;
  return { seq, type, symbol, raw: line, receivedAt: typeof receivedAt === 'number' ? receivedAt : undefined };
}

/**
 * A message read back from the history stream: the entry holds the JSON as given to the
 * publish script, without `seq`, which is the entry id (the script splices it in the same way).
 */
export function fromHistory(id: string, json: string): Published | undefined {
  return parsePublished(`{"seq":"${id}",${json.slice(1)}`);
}
