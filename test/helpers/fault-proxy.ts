import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * One scripted fault, applied to requests whose path matches, `times` times (Infinity: always),
 * after letting the first `skip` matching requests pass.
 */
export type Fault = { skip?: number } & (
  | { match: RegExp; kind: 'cut'; afterBytes: number; times: number }
  | { match: RegExp; kind: 'status'; status: number; headers?: Record<string, string>; times: number }
  | { match: RegExp; kind: 'flip'; times: number }
  | { match: RegExp; kind: 'throttle'; bytesPerSecond: number; times: number }
);

export interface SeenRequest {
  method: string;
  path: string;
  range: string | null;
  at: number;
  status: number;
  /** Body bytes sent to the client. */
  bytes: number;
  /** The Authorization header the request carried, if any. */
  authorization: string | null;
}

export interface FaultProxy {
  url: string;
  faults: Fault[];
  seen: SeenRequest[];
  /** Body bytes sent for requests whose path matches. */
  bytesFor(match: RegExp): number;
  close(): Promise<void>;
}

/**
 * A small HTTP proxy in front of an upstream hub that counts what passes and injects the faults a
 * real upstream shows: a body cut after N bytes, an error status (429 with Retry-After), one byte
 * flipped, a slow body. Redirects and headers pass unchanged.
 */
export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const up = new URL(target);
  const proxy: FaultProxy = {
    url: '',
    faults: [],
    seen: [],
    bytesFor: (match) => proxy.seen.filter((s) => match.test(s.path)).reduce((n, s) => n + s.bytes, 0),
    close: async () => undefined,
  };
  const take = (path: string, kind: Fault['kind']): Fault | null => {
    const f = proxy.faults.find((x) => x.kind === kind && x.times > 0 && x.match.test(path));
    if (!f) return null;
    if (f.skip) {
      f.skip--;
      return null;
    }
    f.times--;
    return f;
  };
  const sockets = new Set<import('node:net').Socket>();
  const server = http.createServer((req, res) => {
    const path = req.url!;
    const seen: SeenRequest = { method: req.method!, path, range: (req.headers.range as string | undefined) ?? null, at: Date.now(), status: 0, bytes: 0, authorization: (req.headers.authorization as string | undefined) ?? null };
    proxy.seen.push(seen);
    const status = take(path, 'status') as Extract<Fault, { kind: 'status' }> | null;
    if (status) {
      seen.status = status.status;
      res.writeHead(status.status, { 'content-type': 'application/json', ...status.headers });
      res.end(JSON.stringify({ error: `injected ${status.status}` }));
      return;
    }
    const cut = take(path, 'cut') as Extract<Fault, { kind: 'cut' }> | null;
    const flip = take(path, 'flip');
    const throttle = take(path, 'throttle') as Extract<Fault, { kind: 'throttle' }> | null;
    const headers = { ...req.headers, host: up.host };
    const out = http.request({ host: up.hostname, port: up.port, method: req.method, path, headers }, (r) => {
      seen.status = r.statusCode!;
      res.writeHead(r.statusCode!, r.headers);
      let sent = 0;
      let flipped = false;
      const started = Date.now();
      r.on('data', (chunk: Buffer) => {
        let c = chunk;
        if (flip && !flipped && c.length > 0) {
          c = Buffer.from(c);
          c[Math.floor(c.length / 2)]! ^= 0x01;
          flipped = true;
        }
        if (cut && sent + c.length >= cut.afterBytes) {
          const part = c.subarray(0, cut.afterBytes - sent);
          sent += part.length;
          seen.bytes = sent;
          res.write(part, () => res.destroy());
          r.destroy();
          return;
        }
        sent += c.length;
        seen.bytes = sent;
        const ok = res.write(c);
        if (throttle) {
          const due = started + (sent / throttle.bytesPerSecond) * 1000;
          const wait = due - Date.now();
          if (wait > 0) {
            r.pause();
            setTimeout(() => r.resume(), wait);
            return;
          }
        }
        if (!ok) {
          r.pause();
          res.once('drain', () => r.resume());
        }
      });
      r.on('end', () => res.end());
      r.on('error', () => res.destroy());
    });
    out.on('error', () => res.destroy());
    res.on('close', () => out.destroy());
    req.pipe(out);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  proxy.close = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
  return proxy;
}
