import dns from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';

/**
 * Requests packhub makes to addresses its users choose (webhooks): they must not become a way into
 * the network packhub runs in. Unless an operator allows it, an address that is not public
 * (loopback, private, link-local such as a cloud's metadata service, carrier-grade NAT, unique-local,
 * multicast, unspecified) is refused, checked on the address the connection is actually made to, so
 * a name that resolves to a public address when the URL is checked and to a private one when the
 * request is sent (DNS rebinding) is refused too.
 */
const NOT_PUBLIC = new net.BlockList();
for (const [net4, bits] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) NOT_PUBLIC.addSubnet(net4, bits, 'ipv4');
for (const [net6, bits] of [
  ['::', 128],
  ['::1', 128],
  ['64:ff9b::', 96],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const) NOT_PUBLIC.addSubnet(net6, bits, 'ipv6');

/** Whether an IP address (v4, v6, or v4 mapped into v6) is one a user-chosen request must not reach. */
export function isNonPublicAddress(address: string): boolean {
  const ip = address.replace(/^\[|\]$/g, '');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped) return NOT_PUBLIC.check(mapped[1]!, 'ipv4');
  const family = net.isIP(ip);
  if (family === 4) return NOT_PUBLIC.check(ip, 'ipv4');
  if (family === 6) return NOT_PUBLIC.check(ip, 'ipv6');
  return false;
}

export class NonPublicAddressError extends Error {
  readonly code = 'ENONPUBLIC';
  constructor(host: string, address: string) {
    super(host === address ? `${address} is not a public address` : `${host} resolves to ${address}, which is not a public address`);
  }
}

/** A dns lookup for http.request that fails for non-public addresses. */
function publicOnlyLookup(hostname: string, options: dns.LookupOptions, callback: (err: NodeJS.ErrnoException | null, address: string | dns.LookupAddress[], family?: number) => void): void {
  dns.lookup(hostname, { ...options, all: true }, (err, addresses) => {
    if (err) return callback(err, '');
    const list = addresses as dns.LookupAddress[];
    const bad = list.find((a) => isNonPublicAddress(a.address));
    if (bad) return callback(new NonPublicAddressError(hostname, bad.address) as unknown as NodeJS.ErrnoException, '');
    if (options.all) return callback(null, list);
    callback(null, list[0]!.address, list[0]!.family);
  });
}

export interface OutboundPost {
  headers: Record<string, string>;
  body: string | Buffer;
  timeoutMs: number;
  signal?: AbortSignal;
  /** Let the request reach loopback and private addresses (an operator's choice: PACKHUB_WEBHOOK_ALLOW_PRIVATE). */
  allowPrivate: boolean;
}

/**
 * POSTs a body and answers the response's status; the response's body is never read (a request to a
 * user-chosen URL must not be a way to read another service's answers). Redirects are not followed.
 * Rejects with NonPublicAddressError for a non-public address unless allowed, with an error named
 * TimeoutError when no answer came in time.
 */
export function postOutbound(rawUrl: string, opts: OutboundPost): Promise<number> {
  const url = new URL(rawUrl);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (!opts.allowPrivate && net.isIP(host) && isNonPublicAddress(host)) return Promise.reject(new NonPublicAddressError(host, host));
  const body = typeof opts.body === 'string' ? Buffer.from(opts.body) : opts.body;
  const mod = url.protocol === 'https:' ? https : http;
  return new Promise<number>((resolve, reject) => {
    const req = mod.request(url, {
      method: 'POST',
      headers: { ...opts.headers, 'Content-Length': String(body.length) },
      agent: false,
      ...(opts.allowPrivate ? {} : { lookup: publicOnlyLookup as unknown as typeof dns.lookup }),
      signal: opts.signal,
    });
    const timer = setTimeout(() => {
      const e = new Error(`no answer within ${opts.timeoutMs} ms`);
      e.name = 'TimeoutError';
      req.destroy(e);
    }, opts.timeoutMs);
    req.on('response', (res) => {
      clearTimeout(timer);
      resolve(res.statusCode ?? 0);
      res.destroy();
    });
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    req.end(body);
  });
}
