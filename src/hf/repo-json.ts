import { invalid } from '../core/errors.js';
import { parse as parseYaml } from 'yaml';
import type { RepoRecord, RepoType } from '../db/types.js';
import type { RepoObjects } from '../git/store/repo-objects.js';
import { describeEntries, entryAt, walkTree } from './tree.js';

export const hfRepoId = (repo: RepoRecord) => `${repo.namespace}/${repo.name}`;
/** A stable 24-hex id (HF uses Mongo ObjectIds) derived from the immutable repo id. */
export const mongoId = (repo: RepoRecord) => repo.id.replace(/-/g, '').slice(0, 24);
export const typePrefix = (repo: RepoRecord) => (repo.type === 'model' ? '' : `${repo.type}s/`);
export const iso = (d: Date) => d.toISOString();

/** A README.md larger than this is not parsed for its front matter. */
const CARD_MAX_BYTES = 1 << 20;

/** README.md YAML front matter, as the Hub's cardData. */
export function cardData(objects: RepoObjects, commit: string): Record<string, unknown> | undefined {
  const e = entryAt(objects, commit, 'README.md');
  if (!e || e.mode === '40000' || objects.size(e.oid) > CARD_MAX_BYTES) return undefined;
  const text = objects.read(e.oid).data.toString('utf8');
  const m = /^---\r?\n([\s\S]*?)\r?\n---\r?\n?/.exec(text);
  if (!m) return undefined;
  try {
    const data = parseYaml(m[1]!) as unknown;
    return data && typeof data === 'object' && !Array.isArray(data) ? (data as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

const COMMON_EXPAND = ['author', 'cardData', 'createdAt', 'disabled', 'downloads', 'downloadsAllTime', 'gated', 'gitalyUid', 'lastModified', 'likes', 'private', 'resourceGroup', 'sha', 'siblings', 'tags', 'trendingScore', 'usedStorage', 'xetEnabled'];

/** The `expand` values the Hub accepts per repository type (every one the official clients send). */
export const EXPANDABLE: Record<RepoType, ReadonlySet<string>> = {
  model: new Set([...COMMON_EXPAND, 'baseModels', 'childrenModelCount', 'config', 'evalResults', 'gguf', 'inference', 'inferenceProviderMapping', 'library_name', 'mask_token', 'model-index', 'pipeline_tag', 'safetensors', 'spaces', 'transformersInfo', 'widgetData']),
  dataset: new Set([...COMMON_EXPAND, 'citation', 'description', 'paperswithcode_id']),
  space: new Set([...COMMON_EXPAND, 'datasets', 'models', 'runtime', 'sdk', 'subdomain']),
};

/** Refuses `expand` values the Hub does not know for the type, as the Hub does (400). */
export function checkExpand(type: RepoType, expand: string[]): void {
  const allowed = EXPANDABLE[type];
  const bad = expand.filter((e) => !allowed.has(e));
  if (bad.length) throw invalid('BadRequest', `"expand" must be one of [${[...allowed].join(', ')}]; got ${bad.slice(0, 5).map((b) => JSON.stringify(b.slice(0, 40))).join(', ')}`);
}

export interface InfoOptions {
  blobs: boolean;
  expand: string[];
  /** List the files (default); listings leave them out unless asked (full=true), sparing a walk of every tree. */
  siblings?: boolean;
  /** Bytes the repository stores (packs plus linked LFS objects). */
  usedStorage?: number;
  /** Users who liked it. */
  likes?: number;
  /** How it is gated (src/community/gated.ts). */
  gated?: false | 'auto' | 'manual';
  /** The commit id to show for `sha` (a REST-synced mirror shows the upstream's id of its synthetic commit). */
  shownSha?: string | null;
  /** A mirror: how its history came (`rest`: synthetic commits, one per upstream tip) and how it is fetched (git, rest or auto). */
  mirror?: { method: 'git' | 'rest'; history: 'git' | 'rest' | 'auto' } | null;
  /** Downloads of the last 30 days and of all time (src/repos/downloads.ts). */
  downloads?: { downloads: number; downloadsAllTime: number };
}

/** What repo info shows of a head commit: derived from the commit alone, so right for as long as it is the head. */
export interface HeadSummary {
  sha: string;
  /** Committer time, ms since the epoch. */
  lastModified: number;
  /** README.md front matter (cardData). */
  card: Record<string, unknown> | undefined;
}

/** Reads a head commit's summary from the repository's objects (its commit and README.md). */
export function summarizeHead(objects: RepoObjects, sha: string): HeadSummary {
  const commit = objects.commit(sha);
  return { sha, lastModified: commit.committer.timestamp * 1000, card: cardData(objects, sha) };
}

/** Repo info as model_info / dataset_info / space_info read it. */
export async function repoInfoJson(repo: RepoRecord, objects: RepoObjects, sha: string | null, opts: InfoOptions): Promise<Record<string, unknown>> {
  const head = sha ? summarizeHead(objects, sha) : null;
  const files = sha && opts.siblings !== false ? walkTree(objects, sha, '', true).filter((e) => e.mode !== '40000') : [];
  const siblings = opts.blobs
    ? (await describeEntries(objects, files)).map((d) => ({ rfilename: d.path, blobId: d.oid, size: d.size, ...(d.lfs ? { lfs: { sha256: d.lfs.oid, size: d.lfs.size, pointerSize: d.lfs.pointerSize } } : {}) }))
    : files.map((e) => ({ rfilename: e.path }));
  return infoFromSummary(repo, head, siblings, opts);
}

/** The card's own `tags` (strings only), as repo info shows them. */
export const cardTags = (card: Record<string, unknown> | undefined): string[] => (Array.isArray(card?.tags) ? (card!.tags as unknown[]).filter((t): t is string => typeof t === 'string') : []);

/** Repo info from a head summary (null: no commit) and the files to list (listings: a summary stored in the db). */
export function infoFromSummary(repo: RepoRecord, head: HeadSummary | null, siblings: unknown[], opts: Omit<InfoOptions, 'blobs'>): Record<string, unknown> {
  const card = head?.card;
  const full: Record<string, unknown> = {
    _id: mongoId(repo),
    id: hfRepoId(repo),
    author: repo.namespace,
    sha: opts.shownSha ?? head?.sha ?? null,
    createdAt: iso(repo.createdAt),
    lastModified: head ? iso(new Date(head.lastModified)) : iso(repo.updatedAt),
    private: repo.private,
    gated: opts.gated ?? false,
    disabled: false,
    downloads: opts.downloads?.downloads ?? 0,
    downloadsAllTime: opts.downloads?.downloadsAllTime ?? 0,
    likes: opts.likes ?? 0,
    tags: cardTags(card),
    siblings,
    usedStorage: opts.usedStorage ?? 0,
    ...(card ? { cardData: card } : {}),
    ...(opts.mirror ? { mirror: opts.mirror } : {}),
  };
  if (repo.type === 'model') Object.assign(full, { modelId: hfRepoId(repo), pipeline_tag: card?.pipeline_tag ?? null, library_name: card?.library_name ?? null });
  if (repo.type === 'dataset') Object.assign(full, { description: typeof card?.description === 'string' ? card.description : '', citation: '' });
  if (repo.type === 'space') Object.assign(full, { sdk: typeof card?.sdk === 'string' ? card.sdk : 'static' });
  if (opts.expand.length === 0) return full;
  const out: Record<string, unknown> = { _id: full._id, id: full.id };
  for (const k of opts.expand) if (k in full) out[k] = full[k];
  return out;
}

/**
 * The tags a listing's `filter=` matches: the card's own tags plus what the Hub derives from the card
 * (pipeline tag, library, `license:X`, `dataset:X`, `base_model:X`, languages).
 */
export function filterTags(info: Record<string, unknown>): Set<string> {
  const out = new Set<string>((info.tags as string[] | undefined) ?? []);
  const card = (info.cardData ?? {}) as Record<string, unknown>;
  const list = (v: unknown) => (Array.isArray(v) ? v : [v]).filter((x): x is string => typeof x === 'string' && x.length > 0 && x.length <= 200);
  for (const v of list(info.pipeline_tag ?? card.pipeline_tag)) out.add(v);
  for (const v of list(info.library_name ?? card.library_name)) out.add(v);
  for (const v of list(card.license)) out.add(`license:${v}`);
  for (const v of list(card.datasets)) out.add(`dataset:${v}`);
  for (const v of list(card.base_model)) out.add(`base_model:${v}`);
  for (const v of list(card.language)) out.add(v);
  return out;
}
