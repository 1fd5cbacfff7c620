// Loaded with `--import` by bench/huge.ts into the packhub server: samples process.memoryUsage()
// every 50 ms and, on SIGUSR2, writes to PACKHUB_MEM_REPORT the peaks since the last report (heap,
// external, array buffers, RSS), the values now, and the sizes of packhub's in-memory caches (read
// from the same dist/ modules the server runs: PACKHUB_MEM_DIST), then starts the next interval.
// With --expose-gc it also collects garbage and reports what stays live.
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const out = process.env.PACKHUB_MEM_REPORT;
const dist = process.env.PACKHUB_MEM_DIST;
if (out && dist) {
  const load = async (rel) => import(pathToFileURL(path.join(dist, rel)).href).catch(() => ({}));
  const fields = ['rss', 'heapTotal', 'heapUsed', 'external', 'arrayBuffers'];
  const peaks = Object.fromEntries(fields.map((f) => [f, 0]));
  const sample = () => {
    const m = process.memoryUsage();
    for (const f of fields) peaks[f] = Math.max(peaks[f], m[f]);
    return m;
  };
  setInterval(sample, 50).unref();
  process.on('SIGUSR2', async () => {
    const now = sample();
    const mib = (o) => Object.fromEntries(fields.map((f) => [f, Math.round(o[f] / 1048576)]));
    const [pc, bf, pf] = await Promise.all([load('git/store/pack-cache.js'), load('hf/blob-facts.js'), load('git/pack/pack-file.js')]);
    const caches = {
      parsed: pc.parsedCacheStats?.(),
      blobFacts: bf.blobFactsCount?.(),
      deltaBases: pf.baseCacheStats?.(),
      readAhead: pf.readAheadStats?.(),
    };
    const report = { peak: mib(peaks), now: mib(now), caches };
    // With --expose-gc: what is live (after a full collection), apart from garbage not yet collected.
    if (globalThis.gc) {
      globalThis.gc();
      report.live = mib(process.memoryUsage());
    }
    fs.writeFileSync(`${out}.tmp`, JSON.stringify(report));
    fs.renameSync(`${out}.tmp`, out);
    for (const f of fields) peaks[f] = 0;
  });
}
