import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { after, describe, it } from 'node:test';
import { httpExchange, ProtocolError, READ_BYTES, TimeoutError } from './transport.js';

/**
 * A server that answers each connection by `answer(socket, request head)`: raw bytes, so that the
 * framing (chunked, close-delimited, interim answers, cuts, oversized heads) is exactly as written.
 */
async function rawServer(answer: (socket: net.Socket, head: string) => void | Promise<void>): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let head = '';
    const onData = (d: Buffer) => {
      head += d.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      socket.off('data', onData);
      void answer(socket, head);
    };
    socket.on('data', onData);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Writes `data` in pieces of `step` bytes, one per turn of the event loop (framing split anywhere). */
async function dribble(socket: net.Socket, data: Buffer, step: number): Promise<void> {
  for (let i = 0; i < data.length; i += step) {
    socket.write(data.subarray(i, i + step));
    await new Promise((r) => setImmediate(r));
  }
}

const opts = { method: 'GET', headers: { 'user-agent': 'test' }, headersTimeoutMs: 5000 };

/** Reads a body, keeping copies of the chunks; `slow`: every 7th chunk asks the reader to wait 5 ms. */
async function readAll(answer: Awaited<ReturnType<typeof httpExchange>>, slow = false): Promise<{ body: Buffer; views: Set<ArrayBufferLike>; chunks: number }> {
  const parts: Buffer[] = [];
  const views = new Set<ArrayBufferLike>();
  let n = 0;
  await answer.readBody((chunk) => {
    parts.push(Buffer.from(chunk));
    views.add(chunk.buffer);
    if (slow && ++n % 7 === 0) return new Promise((r) => setTimeout(r, 5));
  });
  return { body: Buffer.concat(parts), views, chunks: parts.length };
}

describe('mirror transport: HTTP/1.1 answers read into one buffer', () => {
  const closers: (() => Promise<void>)[] = [];
  after(async () => {
    for (const c of closers) await c();
  });
  const serve = async (answer: Parameters<typeof rawServer>[0]) => {
    const s = await rawServer(answer);
    closers.push(s.close);
    return s.url;
  };

  it('a Content-Length body of 3 MiB arrives whole, through one reused read buffer, pausing when the reader asks', async () => {
    const body = crypto.randomBytes(3 << 20);
    let request = '';
    const url = await serve((socket, head) => {
      request = head;
      socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\nX-Repo-Commit: abc\r\n\r\n`);
      socket.end(body);
    });
    const res = await httpExchange(`${url}/a/b?c=1`, { ...opts, headers: { range: 'bytes=0-', authorization: 'Bearer t' } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-repo-commit'), 'abc');
    const got = await readAll(res, true);
    assert.ok(got.body.equals(body));
    // Every chunk is a view of the same memory (the read buffer, and one copy of what came with the
    // head): nothing was allocated per read.
    assert.ok(got.chunks > 40, `${got.chunks} chunks`);
    assert.ok(got.views.size <= 2, `${got.views.size} buffers`);
    assert.ok(request.startsWith('GET /a/b?c=1 HTTP/1.1\r\n'));
    assert.match(request, /\r\nrange: bytes=0-\r\n/);
    assert.match(request, /\r\nauthorization: Bearer t\r\n/);
  });

  it('a chunked body split at every byte, with chunk extensions and trailers, after a 100 Continue', async () => {
    const body = crypto.randomBytes(5000);
    const wire = Buffer.concat([
      Buffer.from('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 206 Partial Content\r\nTransfer-Encoding: chunked\r\nContent-Range: bytes 10-5009/6000\r\n\r\n'),
      Buffer.from('7d0;name=x\r\n'),
      body.subarray(0, 2000),
      Buffer.from('\r\nBB8\r\n'),
      body.subarray(2000),
      Buffer.from('\r\n0\r\nX-Trailer: yes\r\n\r\n'),
    ]);
    const url = await serve(async (socket) => {
      await dribble(socket, wire, 1);
      // The connection stays open: the end of the body is the last chunk, not the close.
    });
    const res = await httpExchange(url, opts);
    assert.equal(res.status, 206);
    assert.equal(res.headers.get('content-range'), 'bytes 10-5009/6000');
    assert.ok((await readAll(res)).body.equals(body));
  });

  it('a body that ends with the connection, all of it received before the reader starts', async () => {
    const body = crypto.randomBytes(1000);
    const url = await serve((socket) => {
      socket.end(Buffer.concat([Buffer.from('HTTP/1.0 200 OK\r\n\r\n'), body]));
    });
    const res = await httpExchange(url, opts);
    await new Promise((r) => setTimeout(r, 50));
    assert.ok((await readAll(res)).body.equals(body));
  });

  it('a body cut before its Content-Length: the reader fails, having had the bytes that came', async () => {
    const url = await serve((socket) => {
      socket.write('HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n');
      socket.end(Buffer.alloc(600, 1));
    });
    const res = await httpExchange(url, opts);
    let got = 0;
    await assert.rejects(
      res.readBody((c) => void (got += c.length)),
      /closed before the end of the body/,
    );
    assert.equal(got, 600);
  });

  it('bounds what the upstream sends: a head over 64 KiB, a bad chunk size, disagreeing lengths', async () => {
    const big = await serve((socket) => {
      socket.write('HTTP/1.1 200 OK\r\n');
      for (let i = 0; i < 2000; i++) socket.write(`X-Filler-${i}: ${'v'.repeat(60)}\r\n`);
    });
    await assert.rejects(httpExchange(big, opts), (err: Error) => err instanceof ProtocolError && /head of more than/.test(err.message));
    const chunked = await serve((socket) => {
      socket.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n');
    });
    const res = await httpExchange(chunked, opts);
    await assert.rejects(
      res.readBody(() => undefined),
      (err: Error) => err instanceof ProtocolError && /chunk size/.test(err.message),
    );
    const lengths = await serve((socket) => void socket.write('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello'));
    await assert.rejects(httpExchange(lengths, opts), ProtocolError);
    const status = await serve((socket) => void socket.write('SPDY/3 200 OK\r\n\r\n'));
    await assert.rejects(httpExchange(status, opts), /status line/);
  });

  it('a head that never comes times out; an abort ends a body being read', async () => {
    const silent = await serve(() => undefined);
    await assert.rejects(httpExchange(silent, { ...opts, headersTimeoutMs: 100 }), TimeoutError);
    const endless = await serve(async (socket) => {
      socket.write('HTTP/1.1 200 OK\r\nContent-Length: 100000000\r\n\r\n');
      const block = Buffer.alloc(READ_BYTES);
      while (!socket.destroyed && socket.write(block)) await new Promise((r) => setImmediate(r));
    });
    const ctl = new AbortController();
    const res = await httpExchange(endless, { ...opts, signal: ctl.signal });
    let got = 0;
    const reading = res.readBody((c) => {
      got += c.length;
      if (got > 1 << 20) ctl.abort(new Error('stop now'));
    });
    await assert.rejects(reading, /stop now/);
  });

  it('keeps a connection for the next exchange with the same origin (a discarded redirect too); one the upstream closed meanwhile is replaced', async () => {
    const body = crypto.randomBytes(200_000);
    let connections = 0;
    const open = new Set<net.Socket>();
    const server = http.createServer((req, res) => {
      if (req.url === '/chunked') {
        res.write(body.subarray(0, 1000));
        return res.end(body.subarray(1000));
      }
      if (req.url === '/last') res.setHeader('connection', 'close');
      if (req.url === '/moved') {
        res.statusCode = 302;
        res.setHeader('location', '/a');
        return res.end('Found. Redirecting to /a');
      }
      res.setHeader('content-length', body.length);
      res.end(body);
    });
    server.on('connection', (s: net.Socket) => {
      connections++;
      open.add(s);
      s.on('close', () => open.delete(s));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    closers.push(() => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))));
    const url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
    const get = async (p: string) => assert.ok((await readAll(await httpExchange(url + p, opts))).body.equals(body));
    for (const p of ['/a', '/chunked', '/b']) await get(p);
    // A redirect's short body is read off when it is discarded: its connection is kept too.
    const moved = await httpExchange(`${url}/moved`, opts);
    assert.equal(moved.status, 302);
    await moved.discard();
    const head = await httpExchange(`${url}/c`, { ...opts, method: 'HEAD' });
    assert.equal(head.headers.get('content-length'), String(body.length));
    await head.readBody(() => assert.fail('a HEAD answer has no body'));
    assert.equal(connections, 1);
    // The upstream drops the idle connection (a restart, its keep-alive timeout): the next exchange
    // finds it closed, before or after writing its request, and opens another.
    for (const s of open) s.destroy();
    await get('/d');
    assert.equal(connections, 2);
    // An answer that says `Connection: close` ends its connection.
    await get('/last');
    await get('/e');
    assert.equal(connections, 3);
  });

  it('refuses request headers that would split the request', async () => {
    await assert.rejects(httpExchange('http://127.0.0.1:9/', { ...opts, headers: { range: 'bytes=0-\r\nX-Evil: 1' } }), /invalid request header/);
  });
});
