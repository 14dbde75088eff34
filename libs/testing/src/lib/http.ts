import { sleep } from '@md/common';

export interface Answer {
  status: number;
  headers: Headers;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export const basicAuth = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

export async function post(
  url: string,
  body: unknown,
  opts: { headers?: Record<string, string>; contentType?: string; raw?: string } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { 'content-type': opts.contentType ?? 'application/json', ...opts.headers };
  return answerOf(await fetch(url, { method: 'POST', headers, body: opts.raw ?? JSON.stringify(body) }));
}

export async function get(url: string, headers: Record<string, string> = {}): Promise<Answer> {
  return answerOf(await fetch(url, { headers }));
}

async function answerOf(response: Response): Promise<Answer> {
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: response.status, headers: response.headers, body };
}

/** Polls `check` every `everyMs` until it answers true; rejects after `timeoutMs` (or with what `check` throws). */
export async function waitUntil(check: () => Promise<boolean> | boolean, what: string, timeoutMs = 15_000, everyMs = 50): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await check()) return;
    await sleep(everyMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** The platform's one sleep, for the tests that import it from here. */
export { sleep };
