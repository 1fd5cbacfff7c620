import type { RequestHandler } from 'express';
import type { PlainRequest, PlainResponse } from './plain.js';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface Metrics {
  registry: Registry;
  /** Counts the request once its response closes (latency, status, bytes), under `res.locals.surface`. */
  track(req: PlainRequest, res: PlainResponse): void;
  /** Requests the download lane (src/http/lane.ts) answered without the application. */
  laneRequests: Counter;
  middleware: RequestHandler;
  pushes: Counter<'result'>;
  fetches: Counter<'kind'>;
  /** Garbage collection: bytes found reclaimable by the last run (git: superseded packs waiting; lfs: orphaned objects waiting), and bytes reclaimed. */
  gcReclaimable: Gauge<'kind'>;
  gcReclaimed: Counter<'kind'>;
}

/** Prometheus metrics: requests, latencies, bytes in and out, pushes and clones/fetches. */
export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'packhub_' });
  const requests = new Counter({ name: 'packhub_http_requests_total', help: 'HTTP requests', labelNames: ['method', 'surface', 'status'] as const, registers: [registry] });
  const latency = new Histogram({
    name: 'packhub_http_request_duration_seconds',
    help: 'HTTP request duration',
    labelNames: ['method', 'surface'] as const,
    buckets: [0.005, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15, 60, 300],
    registers: [registry],
  });
  const bytesIn = new Counter({ name: 'packhub_http_received_bytes_total', help: 'Request body bytes received', labelNames: ['surface'] as const, registers: [registry] });
  const bytesOut = new Counter({ name: 'packhub_http_sent_bytes_total', help: 'Response bytes sent', labelNames: ['surface'] as const, registers: [registry] });
  const laneRequests = new Counter({ name: 'packhub_http_lane_requests_total', help: 'Requests answered by the download lane instead of the application (file downloads)', registers: [registry] });
  const pushes = new Counter({ name: 'packhub_git_pushes_total', help: 'git pushes', labelNames: ['result'] as const, registers: [registry] });
  const fetches = new Counter({ name: 'packhub_git_fetches_total', help: 'git upload-pack requests that sent a pack (clones and fetches)', labelNames: ['kind'] as const, registers: [registry] });

  const gcReclaimable = new Gauge({
    name: 'packhub_gc_reclaimable_bytes',
    help: 'Bytes the last garbage collection left for a later one: superseded packs (git) and unlinked LFS objects (lfs) in their grace period',
    labelNames: ['kind'] as const,
    registers: [registry],
  });
  const gcReclaimed = new Counter({
    name: 'packhub_gc_reclaimed_bytes_total',
    help: 'Bytes garbage collection gave back: compactions that dropped objects (git), LFS objects deleted (lfs), unnamed storage objects swept (sweep)',
    labelNames: ['kind'] as const,
    registers: [registry],
  });

  const track = (req: PlainRequest, res: PlainResponse) => {
    const end = latency.startTimer();
    // Socket counters include headers and are exact for streamed bodies of any size.
    const socket = req.socket;
    const read0 = socket.bytesRead;
    const written0 = socket.bytesWritten;
    res.on('close', () => {
      const surface = String(res.locals.surface ?? 'ui');
      end({ method: req.method, surface });
      requests.inc({ method: req.method, surface, status: String(res.statusCode) });
      bytesIn.inc({ surface }, Math.max(0, socket.bytesRead - read0));
      bytesOut.inc({ surface }, Math.max(0, socket.bytesWritten - written0));
    });
  };
  const middleware: RequestHandler = (req, res, next) => {
    track(req, res);
    next();
  };
  return { registry, track, laneRequests, middleware, pushes, fetches, gcReclaimable, gcReclaimed };
}
