import type { DownloadsDb, RepoRecord } from '../db/db.js';
import type { Logger } from '../core/logger.js';

/**
 * Download counts, kept the way the public Hub keeps them.
 *
 * The rule (one download = one counted request, never one per file):
 * - Models: every successful GET or HEAD on `resolve` of a *query file* at the repository's root counts
 *   one download: `config.json`, `config.yaml`, `hyperparams.yaml`, `meta.yaml` (the Hub's defaults)
 *   and `model_index.json` (diffusers pipelines, which have no root config.json). Weights, tokenizers
 *   and the rest are not counted, so a client fetching a whole snapshot counts once.
 * - Datasets: any file served through `resolve`, but all files a client (by IP address) fetches from
 *   one dataset within five minutes count as one download. The window is kept per server process.
 * - Spaces are not counted.
 * - `raw` (the git file as stored) is not counted, nor any request that failed (status 400 and above)
 *   or was cut before its response finished, nor what the web UI reads for its own pages (requests with
 *   its `X-Packhub-UI` header: a model page reads config.json, a dataset page its first rows). The UI's
 *   download links are plain navigations and count.
 *
 * Counts are kept per repository and UTC day: `downloads` is the last 30 days (today included),
 * `downloadsAllTime` everything. Counting never waits on the database: requests add to an in-memory
 * tally, which is written every `flushMs` as one upsert of (repository, day, n) rows.
 */
export const MODEL_QUERY_FILES: ReadonlySet<string> = new Set(['config.json', 'config.yaml', 'hyperparams.yaml', 'meta.yaml', 'model_index.json']);
export const DATASET_WINDOW_MS = 5 * 60_000;
export const RECENT_DAYS = 30;
/** Clients remembered for the dataset window; past this the oldest are forgotten (a bound, not a rule). */
const MAX_WINDOW_ENTRIES = 100_000;

const DAY_MS = 86_400_000;
export const dayOf = (ms: number) => Math.floor(ms / DAY_MS);

export interface DownloadCounts {
  downloads: number;
  downloadsAllTime: number;
}

export class DownloadCounter {
  /** `repoId day` -> count not yet written. */
  private pending = new Map<string, number>();
  /** `repoId ip` -> when that client's counted dataset download began. */
  private windows = new Map<string, number>();
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly db: DownloadsDb,
    private readonly log: Logger,
    private readonly opts: { flushMs?: number; now?: () => number } = {},
  ) {}

  private now(): number {
    return this.opts.now?.() ?? Date.now();
  }

  /** Whether a successful `resolve` of `path` in `repo` by a client at `ip` is a download (see the rule above). */
  counts(repo: RepoRecord, path: string, ip: string): boolean {
    if (repo.type === 'model') return MODEL_QUERY_FILES.has(path);
    if (repo.type !== 'dataset') return false;
    const key = `${repo.id} ${ip}`;
    const now = this.now();
    const since = this.windows.get(key);
    if (since !== undefined && now - since < DATASET_WINDOW_MS) return false;
    this.windows.delete(key);
    this.windows.set(key, now);
    if (this.windows.size > MAX_WINDOW_ENTRIES) {
      for (const [k, t] of this.windows) {
        if (this.windows.size <= MAX_WINDOW_ENTRIES && now - t < DATASET_WINDOW_MS) break;
        this.windows.delete(k);
      }
    }
    return true;
  }

  /** Adds one download of the repository today; written with the next flush. */
  add(repoId: string): void {
    const key = `${repoId} ${dayOf(this.now())}`;
    this.pending.set(key, (this.pending.get(key) ?? 0) + 1);
    if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = null;
        void this.flush();
      }, this.opts.flushMs ?? 2000);
      this.timer.unref();
    }
  }

  /** Writes the tally now (one statement); resolves once everything added before the call is stored. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(async () => {
      if (this.pending.size === 0) return;
      const batch = this.pending;
      this.pending = new Map();
      const rows = [...batch].map(([k, n]) => {
        const [repoId, day] = k.split(' ');
        return { repoId: repoId!, day: Number(day), n };
      });
      try {
        await this.db.add(rows);
      } catch (err) {
        // Kept for the next flush rather than lost.
        for (const [k, n] of batch) this.pending.set(k, (this.pending.get(k) ?? 0) + n);
        this.log.warn({ err: (err as Error).message }, 'writing download counts failed');
      }
    });
    return this.flushing;
  }

  /** The first day (days since the epoch) that `downloads` counts: listings sorted by downloads compare from it. */
  recentSince(): number {
    return dayOf(this.now()) - RECENT_DAYS + 1;
  }

  /** Downloads of the last 30 days and of all time, per repository (what is pending included). */
  async read(repoIds: string[]): Promise<Map<string, DownloadCounts>> {
    await this.flushing; // a batch being written is either stored or back in pending after this
    const today = dayOf(this.now());
    const stored = repoIds.length ? await this.db.counts(repoIds, today - RECENT_DAYS + 1) : new Map<string, { recent: number; allTime: number }>();
    const out = new Map<string, DownloadCounts>();
    for (const id of repoIds) {
      const s = stored.get(id) ?? { recent: 0, allTime: 0 };
      out.set(id, { downloads: s.recent, downloadsAllTime: s.allTime });
    }
    for (const [k, n] of this.pending) {
      const [repoId, day] = k.split(' ');
      const c = out.get(repoId!);
      if (!c) continue;
      c.downloadsAllTime += n;
      if (Number(day) > today - RECENT_DAYS) c.downloads += n;
    }
    return out;
  }

  /** Stops the timer and writes what is pending (server shutdown). */
  async close(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.flush();
  }
}
