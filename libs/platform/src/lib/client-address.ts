import type { IncomingHttpHeaders } from 'node:http';
import { BlockList, isIPv4, isIPv6 } from 'node:net';
import type { TrustProxy } from '@md/config';

/** proxy-addr's names, as Fastify reads them in `trustProxy`. */
const NAMED: Record<string, string[]> = {
  loopback: ['127.0.0.1/8', '::1/128'],
  linklocal: ['169.254.0.0/16', 'fe80::/10'],
  uniquelocal: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7'],
};

/** `::ffff:1.2.3.4` (an IPv4 peer on a dual-stack socket) as `1.2.3.4`. */
export function plainAddress(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return mapped ? mapped[1] : address;
}

/** The eight 16-bit groups of an IPv6 address (`::` expanded, a dotted IPv4 tail read, a zone id dropped). */
function ipv6Groups(address: string): number[] {
  let text = address.split('%')[0];
  const tail = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (tail) {
    const [a, b, c, d] = tail.slice(1).map(Number);
    text = `${text.slice(0, tail.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const read = (part: string) => (part ? part.split(':').map((group) => parseInt(group, 16)) : []);
  const [head, rest] = text.split('::');
  if (rest === undefined) return read(head);
  const left = read(head);
  const right = read(rest);
  return [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
}

/**
 * Whom a per-address limit counts an address against: an IPv4 address as it is (also when it
 * comes v4-mapped, `::ffff:1.2.3.4`, as on a dual-stack socket), an IPv6 address as its /64
 * (`2001:db8:0:5::/64`), because one subscriber usually holds a whole /64 and would otherwise
 * have 2^64 budgets. Anything else (no address known) as it is. The dashboard server's
 * per-visitor limits use it too (apps/dashboard/server/src/proxy.ts).
 */
export function addressSource(address: string): string {
  const plain = plainAddress(address);
  if (!isIPv6(plain)) return plain;
  const groups = ipv6Groups(plain);
  if (groups.slice(0, 5).every((group) => group === 0) && groups[5] === 0xffff) {
    return [groups[6] >> 8, groups[6] & 255, groups[7] >> 8, groups[7] & 255].join('.');
  }
  return `${groups
    .slice(0, 4)
    .map((group) => group.toString(16))
    .join(':')}::/64`;
}

type Trust = (address: string, hop: number) => boolean;

function trustOf(trust: Exclude<TrustProxy, false>): Trust {
  if (typeof trust === 'number') return (_address, hop) => hop < trust;
  const list = new BlockList();
  for (const entry of trust.flatMap((e) => NAMED[e] ?? [e])) {
    const [address, prefix] = entry.split('/');
    const type = isIPv4(address) ? 'ipv4' : 'ipv6';
    if (prefix === undefined) list.addAddress(address, type);
    else list.addSubnet(address, Number(prefix), type);
  }
  return (address) => {
    const plain = plainAddress(address);
    return isIPv4(plain) ? list.check(plain, 'ipv4') : isIPv6(plain) && list.check(plain, 'ipv6');
  };
}

/**
 * The client address of a raw request, as Fastify's `request.ip` computes it with the same
 * `trustProxy`: the peer, unless the peer is a trusted proxy, then X-Forwarded-For read from
 * the right, stopping at the first address that is not trusted. For the WebSocket upgrade,
 * which never becomes a Fastify request.
 */
export function clientAddress(request: { headers: IncomingHttpHeaders; socket: { remoteAddress?: string } }, trust: TrustProxy): string {
  const peer = plainAddress(request.socket.remoteAddress ?? 'unknown');
  if (trust === false) return peer;
  const header = request.headers['x-forwarded-for'];
  const forwarded = (Array.isArray(header) ? header.join(',') : (header ?? ''))
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean)
    .reverse();
  const hops = [peer, ...forwarded];
  const trusted = trustOf(trust);
  for (let i = 0; i < hops.length - 1; i++) if (!trusted(hops[i], i)) return plainAddress(hops[i]);
  return plainAddress(hops[hops.length - 1]);
}
