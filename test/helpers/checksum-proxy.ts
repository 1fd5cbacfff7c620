import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { tmpDir } from './git.js';

/**
 * A tiny stand-in, in front of s3rver, for a store that checks checksums as AWS S3 and MinIO do
 * (s3rver checks none): a PUT with `x-amz-checksum-sha256` is spooled to a temp file and hashed
 * first, and refused with 400 BadDigest when the body does not match; the checksums it checked are
 * returned on a HEAD with `x-amz-checksum-mode: ENABLED` (and follow server-side copies). Everything
 * else is passed through untouched. `gets` lists the paths of the GETs it forwarded, so a test can
 * see whether packhub read an object back.
 */
export interface ChecksumProxy {
  url: string;
  gets: string[];
  close(): Promise<void>;
}

export async function startChecksumProxy(target: string): Promise<ChecksumProxy> {
  const upstream = new URL(target);
  const sums = new Map<string, string>();
  const gets: string[] = [];
  const spool = tmpDir('checksum-proxy');
  const server = http.createServer((req, res) => {
    void (async () => {
      const key = decodeURIComponent(req.url!.split('?')[0]!);
      const claimed = typeof req.headers['x-amz-checksum-sha256'] === 'string' ? req.headers['x-amz-checksum-sha256'] : undefined;
      const copySource = typeof req.headers['x-amz-copy-source'] === 'string' ? decodeURIComponent(`/${req.headers['x-amz-copy-source'].replace(/^\//, '')}`) : undefined;
      const file = path.join(spool, crypto.randomUUID());
      const hash = crypto.createHash('sha256');
      let size = 0;
      await pipeline(
        req,
        async function* (src) {
          for await (const c of src as AsyncIterable<Buffer>) {
            hash.update(c);
            size += c.length;
            yield c;
          }
        },
        fs.createWriteStream(file),
      );
      try {
        if (req.method === 'PUT' && claimed && !copySource && hash.digest('base64') !== claimed) {
          res.writeHead(400, { 'Content-Type': 'application/xml' }).end('<Error><Code>BadDigest</Code><Message>The SHA256 you specified did not match the calculated checksum.</Message></Error>');
          return;
        }
        if (req.method === 'GET') gets.push(key);
        const headers = { ...req.headers, 'content-length': String(size) };
        delete headers['transfer-encoding'];
        delete headers.expect;
        await new Promise<void>((resolve) => {
          const up = http.request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers }, (r) => {
            const out = { ...r.headers };
            if (req.method === 'PUT' && (r.statusCode ?? 500) < 300) {
              const sum = copySource ? sums.get(copySource) : claimed;
              if (sum) sums.set(key, sum);
              else sums.delete(key);
            }
            if (req.method === 'DELETE') sums.delete(key);
            if (req.method === 'HEAD' && req.headers['x-amz-checksum-mode'] === 'ENABLED' && sums.has(key)) out['x-amz-checksum-sha256'] = sums.get(key)!;
            res.writeHead(r.statusCode ?? 502, out);
            r.pipe(res);
            r.on('end', resolve);
            r.on('error', resolve);
          });
          up.on('error', () => {
            res.destroy();
            resolve();
          });
          fs.createReadStream(file).pipe(up);
        });
      } finally {
        fs.rmSync(file, { force: true });
      }
    })().catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    gets,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      fs.rmSync(spool, { recursive: true, force: true });
    },
  };
}
