import net from 'node:net';
import tls from 'node:tls';

/**
 * One HTTP/1.1 exchange with the upstream for a large body (an LFS object), its body read into the
 * connection's one buffer (`onread`): nothing is allocated per read; connections are kept for the
 * next exchange with the same origin. (A
 * `node:http` response allocates a new Buffer for every 64 KiB read; V8 counts those against the
 * heap's growth limit, and with the server's tight limit (src/cli.ts) draining a body at 1 GiB/s
 * ran a full collection every ~30 MiB: 2.2 s of CPU per 512 MiB against 0.1 s for this reader.)
 *
 * Redirects are not followed here (the caller decides which ones keep the credential); the head
 * must come within `headersTimeoutMs`; the body has no timeout of its own (the caller watches it
 * for inactivity and calls `abort`). `signal` aborts the exchange, body included. What the upstream
 * sends is bounded: the head to 64 KiB and 256 fields, a chunk-size line to 1 KiB.
 */
export interface HttpAnswer {
  status: number;
  statusText: string;
  headers: Headers;
  /**
   * Reads the body into `sink`, in order. A chunk is valid only during the call (its bytes are in
   * the connection's read buffer, reused for the next read): the sink copies what it keeps, and
   * takes every chunk it is given. When it returns a promise, reading pauses once the current read
   * (at most READ_BYTES) is delivered, until the promise resolves. Resolves at the end of the body;
   * rejects when the connection breaks first, the framing is wrong, the sink throws, or on `abort`.
   */
  readBody(sink: (chunk: Buffer) => void | Promise<void>): Promise<void>;
  /** Ends the exchange (the connection is closed); a pending `readBody` rejects with `reason`. */
  abort(reason: Error): void;
  /** Drops the body: a short one is read off (the connection is kept), a large one closes the connection. */
  discard(): Promise<void>;
}

/** The connection's read buffer: the most one read delivers to a sink. */
export const READ_BYTES = 64 << 10;
const MAX_HEAD_BYTES = 64 << 10;
const MAX_FIELDS = 256;
const MAX_CHUNK_LINE = 1024;
/** A discarded body up to this size is read off (for up to DRAIN_MS) to keep its connection. */
const DRAIN_MAX = 64 << 10;
const DRAIN_MS = 2000;

export class TimeoutError extends Error {
  constructor(ms: number) {
    super(`no answer within ${ms} ms`);
    this.name = 'TimeoutError';
  }
}

/** The upstream broke HTTP/1.1 (a head too large, a bad status line, bad chunk framing). */
export class ProtocolError extends Error {
  constructor(message: string) {
    super(`bad HTTP answer: ${message}`);
    this.name = 'ProtocolError';
  }
}

const CRLFCRLF = Buffer.from('\r\n\r\n');
const HEADER_SAFE = /^[^\r\n\0]*$/;

type Framing = { kind: 'length'; left: number } | { kind: 'chunked' } | { kind: 'close' } | { kind: 'none' };

/**
 * A connection to an origin and its one read buffer. Between exchanges it waits in `idle` (at most
 * IDLE_PER_ORIGIN per origin, IDLE_MS each): a mirror fetching file after file from the upstream,
 * or from the CDN its answers redirect to, pays a TCP (and TLS) handshake once, not per object.
 */
interface Conn {
  readonly key: string;
  readonly socket: net.Socket;
  readonly buf: Buffer;
  /** The exchange using it (null while idle: bytes then are a protocol error, an end or close drops it). */
  exchange: { data(bytes: Buffer): boolean; error(err: Error): void; end(): void; close(): void } | null;
  idleTimer: NodeJS.Timeout | null;
}

const IDLE_PER_ORIGIN = 8;
const IDLE_MS = 30_000;
const idle = new Map<string, Conn[]>();

function dropIdle(conn: Conn): void {
  const list = idle.get(conn.key);
  const i = list?.indexOf(conn) ?? -1;
  if (i >= 0) list!.splice(i, 1);
  if (list?.length === 0) idle.delete(conn.key);
  if (conn.idleTimer) clearTimeout(conn.idleTimer);
  conn.idleTimer = null;
}

function connect(u: URL, key: string): Conn {
  const secure = u.protocol === 'https:';
  const host = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
  const port = Number(u.port || (secure ? 443 : 80));
  const buf = Buffer.allocUnsafe(READ_BYTES);
  const onread = {
    buffer: buf,
    callback: (n: number) => {
      if (conn.exchange) return conn.exchange.data(buf.subarray(0, n));
      conn.socket.destroy(); // an idle connection has nothing to say
      return false;
    },
  };
  const socket: net.Socket = secure
    ? // tls.connect takes `onread` as net.connect does (Node's documentation; its typings lack it).
      tls.connect({ host, port, servername: net.isIP(host) ? undefined : host, ALPNProtocols: ['http/1.1'], onread } as tls.ConnectionOptions)
    : net.connect({ host, port, onread });
  const conn: Conn = { key, socket, buf, exchange: null, idleTimer: null };
  // Flowing, so that the end of the stream is seen (the bytes themselves go to `onread`).
  socket.resume();
  socket.on('error', (err) => conn.exchange?.error(err));
  socket.on('end', () => conn.exchange?.end());
  socket.on('close', () => {
    dropIdle(conn);
    conn.exchange?.close();
  });
  return conn;
}

/** A connection that answered a whole exchange goes back to the pool. */
function release(conn: Conn): void {
  conn.exchange = null;
  const list = idle.get(conn.key) ?? [];
  if (conn.socket.destroyed || list.length >= IDLE_PER_ORIGIN) return void conn.socket.destroy();
  list.push(conn);
  idle.set(conn.key, list);
  conn.idleTimer = setTimeout(() => conn.socket.destroy(), IDLE_MS);
  conn.idleTimer.unref();
  conn.socket.unref();
  // Reading on: an upstream that closes an idle connection is seen and the connection dropped.
  conn.socket.resume();
}

/** A reused connection that broke before any byte of the answer: the upstream had closed it meanwhile. */
class StaleConnection extends Error {}

export async function httpExchange(url: string, opts: { method: string; headers: Record<string, string>; signal?: AbortSignal; headersTimeoutMs: number }): Promise<HttpAnswer> {
  const u = new URL(url);
  const secure = u.protocol === 'https:';
  if (!secure && u.protocol !== 'http:') throw new Error(`unsupported protocol ${u.protocol}`);
  for (const [k, v] of Object.entries(opts.headers)) {
    if (!HEADER_SAFE.test(k) || !HEADER_SAFE.test(v) || k.includes(':')) throw new Error(`invalid request header ${JSON.stringify(k)}`);
  }
  const head =
    `${opts.method} ${u.pathname}${u.search} HTTP/1.1\r\nHost: ${u.host}\r\n` +
    Object.entries(opts.headers)
      .filter(([k]) => !/^(host|connection)$/i.test(k))
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join('') +
    '\r\n';
  const key = `${u.protocol}//${u.host}`;
  for (;;) {
    const reused = idle.get(key)?.pop();
    if (!reused) return exchange(connect(u, key), head, opts, false);
    dropIdle(reused);
    reused.socket.ref();
    try {
      return await exchange(reused, head, opts, true);
    } catch (err) {
      if (!(err instanceof StaleConnection)) throw err;
    }
  }
}

function exchange(conn: Conn, head: string, opts: { method: string; signal?: AbortSignal; headersTimeoutMs: number }, reused: boolean): Promise<HttpAnswer> {
  const bodyless = opts.method === 'HEAD';
  const socket = conn.socket;
  return new Promise<HttpAnswer>((resolve, reject) => {
    if (opts.signal?.aborted) {
      if (reused) release(conn);
      else socket.destroy();
      return reject(opts.signal.reason);
    }
    if (socket.destroyed) return reject(new StaleConnection('the connection closed'));

    // The head, then the body.
    let headBuf: Buffer | null = null;
    let headLen = 0;
    let framing: Framing | null = null;
    let answered = false;
    let finished = false;
    let failure: Error | null = null;
    // Body bytes that came with the head, before a sink was there (at most one read).
    let early: Buffer | null = null;
    let sink: ((chunk: Buffer) => void | Promise<void>) | null = null;
    let bodyDone: { resolve(): void; reject(e: Error): void } | null = null;
    // Chunked framing: what is being read, and the chunk-size or trailer line so far.
    let chunkState: 'size' | 'data' | 'data-end' | 'trailer' = 'size';
    let chunkLeft = 0;
    let line = '';
    let paused: Promise<void> | null = null;
    let eof = false;
    // Whether the connection can serve another exchange once this body is read.
    let keep = false;
    let released = false;
    let gotBytes = false;

    const timer = setTimeout(() => fail(new TimeoutError(opts.headersTimeoutMs)), opts.headersTimeoutMs);
    const onAbort = () => fail(opts.signal!.reason instanceof Error ? opts.signal!.reason : new Error('aborted'));
    opts.signal?.addEventListener('abort', onAbort, { once: true });

    function cleanup(): void {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
    }

    function fail(err: Error): void {
      if (finished) return;
      finished = true;
      failure = err;
      cleanup();
      conn.exchange = null;
      socket.destroy();
      if (!answered) reject(reused && !gotBytes && !(err instanceof TimeoutError) && !opts.signal?.aborted ? new StaleConnection(err.message) : err);
      bodyDone?.reject(err);
    }

    function finish(): void {
      if (finished) return;
      finished = true;
      cleanup();
      if (keep && !eof) {
        released = true;
        release(conn);
      } else {
        conn.exchange = null;
        socket.destroy();
      }
      bodyDone?.resolve();
    }

    conn.exchange = {
      data: (bytes) => {
        gotBytes = true;
        return onData(bytes);
      },
      error: (err) => fail(err),
      end: () => {
        eof = true;
        if (!answered) return fail(new Error('the connection closed before an answer'));
        // A body that ends with the connection: complete (once a sink has had what came before).
        if (framing?.kind === 'close') return sink ? finish() : undefined;
        if (!finished) fail(new Error('the connection closed before the end of the body'));
      },
      close: () => {
        if (!(eof && framing?.kind === 'close' && !sink)) fail(new Error('the connection closed'));
      },
    };
    socket.write(head);

    /** Bytes from the socket (valid during this call only). false: pause reading. */
    function onData(data: Buffer): boolean {
      if (finished) return false;
      try {
        if (!answered) {
          data = readHead(data);
          if (!answered) return true;
          if (finished) return released; // no body (HEAD, 204, 304, a length of 0)
          if (!sink) {
            // Kept until the body is read (or dropped); nothing more is read meanwhile.
            if (data.length > 0) early = Buffer.from(data);
            return false;
          }
        }
        deliver(data);
      } catch (err) {
        fail(err as Error);
        return false;
      }
      // Released to the pool: it reads on, to see the upstream close it.
      return released || !(paused || finished);
    }

    /** Adds bytes to the head; once it is complete, answers and returns the bytes after it. */
    function readHead(data: Buffer): Buffer {
      headBuf ??= Buffer.allocUnsafe(MAX_HEAD_BYTES);
      const from = Math.max(0, headLen - 3);
      const n = Math.min(data.length, MAX_HEAD_BYTES - headLen);
      data.copy(headBuf, headLen, 0, n);
      headLen += n;
      const end = headBuf.subarray(0, headLen).indexOf(CRLFCRLF, from);
      if (end < 0) {
        if (headLen >= MAX_HEAD_BYTES) throw new ProtocolError(`a head of more than ${MAX_HEAD_BYTES} bytes`);
        return data.subarray(data.length);
      }
      const text = headBuf.toString('latin1', 0, end);
      // What follows the head: the bytes of `data` after it (some were copied into headBuf too).
      const after = data.subarray(n - (headLen - (end + 4)));
      headLen = 0;
      const parsed = parseHead(text);
      if (parsed.status >= 100 && parsed.status < 200) {
        if (parsed.status === 101) throw new ProtocolError('101 Switching Protocols');
        // An interim answer (100 Continue): the final one follows.
        return readHead(after);
      }
      headBuf = null;
      framing = bodyless ? { kind: 'none' } : framingOf(parsed.status, parsed.headers);
      keep = parsed.version === '1.1' && framing.kind !== 'close' && !/(^|,)\s*close\s*(,|$)/i.test(parsed.headers.get('connection') ?? '');
      answered = true;
      clearTimeout(timer);
      resolve({
        status: parsed.status,
        statusText: parsed.statusText,
        headers: parsed.headers,
        readBody,
        abort: (reason) => fail(reason),
        discard: async () => {
          if (finished) return;
          // A short body (a redirect's, an error's) is read off so the connection can be kept: the
          // upstream's answers to resolve are redirects to its CDN, one per object.
          const f = framing!;
          if (f.kind === 'length' && f.left <= DRAIN_MAX && !sink) {
            const t = setTimeout(() => fail(new Error('discarded')), DRAIN_MS);
            await readBody(() => undefined).catch(() => undefined);
            clearTimeout(t);
          } else fail(new Error('discarded'));
        },
      });
      if (framing.kind === 'none' || (framing.kind === 'length' && framing.left === 0)) {
        if (after.length > 0) keep = false;
        finish();
      }
      return after;
    }

    function readBody(s: (chunk: Buffer) => void | Promise<void>): Promise<void> {
      if (sink) return Promise.reject(new Error('the body is read once'));
      sink = s;
      if (failure) return Promise.reject(failure);
      return new Promise<void>((res, rej) => {
        bodyDone = { resolve: res, reject: rej };
        const first = early;
        early = null;
        if (first && !finished) {
          try {
            deliver(first);
          } catch (err) {
            return fail(err as Error);
          }
        }
        if (finished) return res(); // (a failure above has rejected it already)
        if (framing!.kind === 'close' && eof) return finish();
        if (!paused) socket.resume();
      });
    }

    function emit(chunk: Buffer): void {
      if (chunk.length === 0) return;
      const r = sink!(chunk);
      if (r) {
        const p = r.then(
          () => {
            if (paused !== p) return;
            paused = null;
            if (!finished) socket.resume();
          },
          (err: Error) => fail(err),
        );
        paused = p;
      }
    }

    function deliver(data: Buffer): void {
      const f = framing!;
      if (f.kind === 'close') return emit(data);
      if (f.kind === 'length') {
        const n = Math.min(f.left, data.length);
        f.left -= n;
        emit(data.subarray(0, n));
        if (f.left === 0) {
          if (n < data.length) keep = false; // more than the body: not a connection to reuse
          finish();
        }
        return;
      }
      if (f.kind === 'none') return;
      let at = 0;
      while (at < data.length && !finished) {
        if (chunkState === 'data') {
          const n = Math.min(chunkLeft, data.length - at);
          emit(data.subarray(at, at + n));
          at += n;
          chunkLeft -= n;
          if (chunkLeft === 0) chunkState = 'data-end';
          continue;
        }
        // A line: the chunk size, the CRLF after a chunk's data, or a trailer field.
        const nl = data.indexOf(10, at);
        const take = nl < 0 ? data.length : nl + 1;
        line += data.toString('latin1', at, take);
        at = take;
        if (line.length > MAX_CHUNK_LINE) throw new ProtocolError('a chunk line of more than 1 KiB');
        if (nl < 0) continue;
        const text = line.replace(/\r?\n$/, '');
        line = '';
        if (chunkState === 'data-end') {
          if (text !== '') throw new ProtocolError('chunk data longer than its size');
          chunkState = 'size';
        } else if (chunkState === 'size') {
          const m = /^([0-9a-fA-F]{1,12})(?:[ \t]*;.*)?$/.exec(text);
          if (!m) throw new ProtocolError(`a chunk size line ${JSON.stringify(text.slice(0, 40))}`);
          chunkLeft = parseInt(m[1]!, 16);
          chunkState = chunkLeft === 0 ? 'trailer' : 'data';
        } else if (text === '') {
          if (at < data.length) keep = false;
          return finish();
        }
      }
    }
  });
}

function parseHead(text: string): { version: '1.0' | '1.1'; status: number; statusText: string; headers: Headers } {
  const lines = text.split('\r\n');
  const m = /^HTTP\/(1\.[01]) (\d{3})(?: (.*))?$/.exec(lines[0]!);
  if (!m) throw new ProtocolError(`a status line ${JSON.stringify(lines[0]!.slice(0, 80))}`);
  if (lines.length - 1 > MAX_FIELDS) throw new ProtocolError(`more than ${MAX_FIELDS} header fields`);
  const headers = new Headers();
  for (const l of lines.slice(1)) {
    const colon = l.indexOf(':');
    if (colon <= 0 || /^[ \t]/.test(l)) throw new ProtocolError(`a header line ${JSON.stringify(l.slice(0, 80))}`);
    try {
      headers.append(l.slice(0, colon).trim(), l.slice(colon + 1).trim());
    } catch {
      throw new ProtocolError(`a header line ${JSON.stringify(l.slice(0, 80))}`);
    }
  }
  return { version: m[1] as '1.0' | '1.1', status: Number(m[2]), statusText: m[3] ?? '', headers };
}

function framingOf(status: number, headers: Headers): Framing {
  if (status === 204 || status === 304) return { kind: 'none' };
  const te = headers.get('transfer-encoding');
  if (te !== null) return /(^|,)\s*chunked\s*$/i.test(te) ? { kind: 'chunked' } : { kind: 'close' };
  const cl = headers.get('content-length');
  if (cl === null) return { kind: 'close' };
  // Repeated fields come joined by ", ": they must agree.
  const values = new Set(cl.split(',').map((v) => v.trim()));
  const [only] = values;
  if (values.size !== 1 || !/^\d{1,15}$/.test(only!)) throw new ProtocolError(`Content-Length ${JSON.stringify(cl.slice(0, 40))}`);
  return { kind: 'length', left: Number(only) };
}
