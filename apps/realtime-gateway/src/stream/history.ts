import { Inject, Injectable } from '@nestjs/common';
import { isSeq, SEQ_ZERO, type SymbolView } from '@md/contracts';
import { REDIS, RedisKeys, type MdRedis } from '@md/redis';
import type { Snapshot } from './client';
import { fromHistory, type Published } from './published';

/** Entries per history read; a resume holds at most one page in memory per client. */
const PAGE = 500;
type Entry = [id: string, fields: string[]];

/** History was trimmed past the point a resume had reached. */
export class HistoryTrimmed extends Error {
  constructor() {
    super('history was trimmed while it was being read');
  }
}

function toMessages(page: Entry[]): Published[] {
  const out: Published[] = [];
  for (const [id, fields] of page) {
    const message = fromHistory(id, fields[1]);
    if (message) out.push(message);
  }
  return out;
}

/**
 * Reads of what the publishers keep beside the channel: the latest views (a hash, written in
 * the same script as their publish) and the capped history stream whose ids are the seqs.
 */
@Injectable()
export class StreamHistory {
  constructor(
    @Inject(REDIS) private readonly redis: MdRedis,
    private readonly keys: RedisKeys,
  ) {}

  /**
   * The latest view of every symbol and the seq they are current as of, read atomically:
   * every message up to that seq is reflected in the views, none after it.
   */
  async snapshot(): Promise<Snapshot> {
    const results = await this.redis.multi().xrevrange(this.keys.history(), '+', '-', 'COUNT', 1).hgetall(this.keys.views()).exec();
    if (!results) throw new Error('snapshot transaction aborted');
    const [[lastError, last], [viewsError, hash]] = results as [[Error | null, Entry[]], [Error | null, Record<string, string>]];
    if (lastError || viewsError) throw lastError ?? viewsError;
    const views = Object.keys(hash)
      .sort()
      .map((symbol) => JSON.parse(hash[symbol]) as SymbolView);
    return { seq: last[0]?.[0] ?? SEQ_ZERO, views };
  }

  /**
   * Every message after `seq`, in order, page by page (each read when the caller asks for it:
   * a resume is paced by the client's socket), or undefined when they cannot all be had: `seq`
   * is malformed, unknown (never published here, or trimmed from history), or messages were
   * trimmed since (for SEQ_ZERO, "since the beginning"). History trimmed while the pages are
   * read makes the iteration throw HistoryTrimmed: the caller must not go on from a hole.
   */
  async after(seq: string, pageSize = PAGE): Promise<AsyncGenerator<Published[]> | undefined> {
    if (!isSeq(seq)) return undefined;
    const key = this.keys.history();
    let first: Entry[];
    if (seq === SEQ_ZERO) {
      if (!(await this.neverTrimmed())) return undefined;
      first = (await this.redis.xrange(key, '-', '+', 'COUNT', pageSize)) as Entry[];
    } else {
      // The entry itself must still be there: trimming removes the oldest first, so then
      // everything after it is there too. (No one deletes from the middle of history.)
      first = (await this.redis.xrange(key, seq, '+', 'COUNT', pageSize + 1)) as Entry[];
      if (first[0]?.[0] !== seq) return undefined;
      first = first.slice(1);
    }
    return this.pages(key, first, pageSize);
  }

  private async *pages(key: string, first: Entry[], pageSize: number): AsyncGenerator<Published[]> {
    let page = first;
    for (;;) {
      if (page.length) yield toMessages(page);
      if (page.length < pageSize) return;
      const cursor = page[page.length - 1][0];
      // From the last entry read, inclusive: if it is gone, history was trimmed past it meanwhile.
      const next = (await this.redis.xrange(key, cursor, '+', 'COUNT', pageSize + 1)) as Entry[];
      if (next[0]?.[0] !== cursor) throw new HistoryTrimmed();
      page = next.slice(1);
    }
  }

  /** Whether the history stream still holds every message ever published (or none was). */
  private async neverTrimmed(): Promise<boolean> {
    let info: unknown[];
    try {
      info = (await this.redis.call('XINFO', 'STREAM', this.keys.history())) as unknown[];
    } catch (error) {
      if (/no such key/i.test((error as Error).message)) return true;
      throw error;
    }
    const field = (name: string) => info[info.indexOf(name) + 1];
    // entries-added exists from Redis 7.0; without it, there is no telling: not resumable.
    return info.includes('entries-added') && Number(field('entries-added')) === Number(field('length'));
  }
}
