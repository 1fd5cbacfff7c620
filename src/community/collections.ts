import crypto from 'node:crypto';
import { AppError, invalid, notFound } from '../core/errors.js';
import type { CollectionItemRecord, CollectionItemType, CollectionRecord, Db, RepoRecord, RepoType } from '../db/db.js';
import { can, canCreateIn, roleIn } from '../auth/permissions.js';
import type { Principal } from '../auth/principal.js';

export const THEMES = ['orange', 'blue', 'green', 'purple', 'pink', 'indigo'] as const;
export const ITEM_TYPES = ['model', 'dataset', 'space', 'paper', 'collection'] as const;
const REPO_TYPES: readonly string[] = ['model', 'dataset', 'space'];

/** Bounds of what callers send. */
export const TITLE_MAX = 200;
export const DESCRIPTION_MAX = 2000;
export const NOTE_MAX = 500;
export const MAX_ITEMS = 1000;
export const MAX_COLLECTIONS_PER_OWNER = 1000;
/** Collections one listing page holds; items each listed collection shows; owners and items one listing may filter by. */
export const LIST_PAGE = 100;
export const LIST_ITEMS = 4;
const MAX_FILTERS = 50;
const Q_MAX = 200;
const ID_MAX = 256;
const SORTS = ['lastModified', 'trending', 'upvotes'];
const PAPER_RE = /^\d{4}\.\d{4,5}$/;
const HEX24 = /^[0-9a-f]{24}$/;

export const collectionNotFound = () => notFound('CollectionNotFound', 'Collection not found');
const itemNotFound = () => notFound('CollectionItemNotFound', 'Item not found in the collection');

/** The slug's title part: lower case, ASCII letters and digits joined by `-`. */
export function slugifyTitle(title: string): string {
  const s = title
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 80)
    .replace(/-+$/, '');
  return s || 'collection';
}

export const collectionSlug = (c: CollectionRecord) => `${c.namespace}/${slugifyTitle(c.title)}-${c.id}`;

/** The 24-hex id a slug (`owner/title-id`), its last segment, or a bare id ends with; null when none. */
export function idOfSlug(slug: string): string | null {
  const m = /(?:^|[/-])([0-9a-f]{24})$/.exec(slug);
  return m ? m[1]! : null;
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
/** A note as the Hub gives it: the plain text, and HTML with the text escaped and its http(s) URLs made links. */
export function noteJson(text: string): { html: string; text: string } {
  const html = escapeHtml(text).replace(/https?:\/\/[^\s<>"']+/g, (url) => `<a href="${url}" rel="nofollow noopener noreferrer" target="_blank">${url}</a>`);
  return { html, text };
}

/** What a listing asks for (already parsed from the query). */
export interface CollectionQuery {
  owners: string[];
  items: string[];
  q: string | null;
  sort: string | null;
  limit: number;
  offset: number;
}

type Body = Record<string, unknown>;

const str = (v: unknown, name: string, max: number, opts: { empty?: boolean } = {}): string => {
  if (typeof v !== 'string') throw invalid('BadRequest', `${name} must be a string`);
  const t = v.trim();
  if (!t && !opts.empty) throw invalid('BadRequest', `${name} must not be empty`);
  if ([...v].length > max) throw invalid('BadRequest', `${name} must be at most ${max} characters`);
  return v;
};
const bool = (v: unknown, name: string): boolean => {
  if (typeof v !== 'boolean') throw invalid('BadRequest', `${name} must be true or false`);
  return v;
};
const position = (v: unknown, max: number): number => {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) throw invalid('BadRequest', `position must be an integer from 0 to ${max}`);
  return v;
};
const theme = (v: unknown): string => {
  if (typeof v !== 'string' || !(THEMES as readonly string[]).includes(v)) throw invalid('BadRequest', `theme must be one of ${THEMES.join(', ')}`);
  return v;
};
const description = (v: unknown): string | null => {
  const d = str(v, 'description', DESCRIPTION_MAX, { empty: true });
  return d.trim() ? d : null;
};
const note = (v: unknown): string | null => {
  const n = str(v, 'note', NOTE_MAX, { empty: true });
  return n.trim() ? n : null;
};

/**
 * Collections: a user's or organization's titled, ordered lists of repositories, papers and other
 * collections. Anyone may read a public collection; a private one exists only for the members of
 * its namespace. Its owner (the user, or writers and admins of the organization, with a write
 * token) edits it. Items the viewer may not see (a private repository, a private collection) are
 * left out of every answer, and the positions shown count only what is shown.
 */
export class CollectionService {
  constructor(private readonly db: Db) {}

  private canSee(p: Principal | null, c: CollectionRecord): boolean {
    return !c.private || roleIn(p, c.namespace) !== null;
  }

  private canEdit(p: Principal | null, c: CollectionRecord): boolean {
    return canCreateIn(p, c.namespace);
  }

  /** The collection `owner/slug-id` names, if the caller may see it (the title part may be an old one). */
  async find(p: Principal | null, owner: string, slugTail: string): Promise<CollectionRecord> {
    const id = idOfSlug(slugTail);
    const c = id ? await this.db.collections.get(id) : null;
    if (!c || c.namespace.toLowerCase() !== owner.toLowerCase() || !this.canSee(p, c)) throw collectionNotFound();
    return c;
  }

  /** As `find`, and the caller must be allowed to edit it. */
  async editable(p: Principal | null, owner: string, slugTail: string): Promise<CollectionRecord> {
    if (!p) throw new AppError('unauthenticated', 'Unauthenticated', 'Authentication required');
    const c = await this.find(p, owner, slugTail);
    if (!this.canEdit(p, c)) throw new AppError('forbidden', 'Forbidden', p.scope !== 'write' ? 'this token is read-only' : `You don't have the rights to edit collections of ${c.namespace}`);
    return c;
  }

  async create(p: Principal | null, body: Body): Promise<CollectionRecord> {
    if (!p) throw new AppError('unauthenticated', 'Unauthenticated', 'Authentication required');
    const title = str(body.title, 'title', TITLE_MAX);
    const ns = body.namespace === undefined || body.namespace === null ? p.user.name : str(body.namespace, 'namespace', 96);
    const holder = await this.db.names.holder(ns);
    if (!holder) throw notFound('NamespaceNotFound', `no user or organization named ${ns}`);
    if (!canCreateIn(p, holder.name)) throw new AppError('forbidden', 'Forbidden', p.scope !== 'write' ? 'this token is read-only' : `You don't have the rights to create collections in ${holder.name}`);
    const input = {
      namespace: holder.name,
      title,
      description: body.description === undefined || body.description === null ? null : description(body.description),
      private: body.private === undefined || body.private === null ? false : bool(body.private, 'private'),
      theme: body.theme === undefined || body.theme === null ? THEMES[crypto.randomInt(THEMES.length)]! : theme(body.theme),
    };
    // A first item (`item: {type, id}`) is checked before anything is created.
    const first = body.item === undefined || body.item === null ? null : await this.itemRef(p, body.item, null);
    const c = await this.db.collections.create(input, MAX_COLLECTIONS_PER_OWNER);
    if (first) await this.db.collections.addItem(c.id, { ...first, note: null }, MAX_ITEMS);
    return c;
  }

  async update(p: Principal | null, owner: string, slugTail: string, body: Body): Promise<CollectionRecord> {
    const c = await this.editable(p, owner, slugTail);
    const patch: Parameters<Db['collections']['update']>[1] = {};
    if (body.title !== undefined && body.title !== null) patch.title = str(body.title, 'title', TITLE_MAX);
    if (body.description !== undefined && body.description !== null) patch.description = description(body.description);
    if (body.private !== undefined && body.private !== null) patch.private = bool(body.private, 'private');
    if (body.theme !== undefined && body.theme !== null) patch.theme = theme(body.theme);
    if (body.position !== undefined && body.position !== null) patch.position = position(body.position, MAX_COLLECTIONS_PER_OWNER);
    const updated = await this.db.collections.update(c.id, patch);
    if (!updated) throw collectionNotFound();
    return updated;
  }

  async delete(p: Principal | null, owner: string, slugTail: string): Promise<void> {
    const c = await this.editable(p, owner, slugTail);
    if (!(await this.db.collections.delete(c.id))) throw collectionNotFound();
  }

  /** `{type, id}` of an item to add -> what is stored; the caller must be able to see it. */
  private async itemRef(p: Principal, raw: unknown, into: CollectionRecord | null): Promise<{ type: CollectionItemType; ref: string }> {
    if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw invalid('BadRequest', 'item must be an object {type, id}');
    const { type, id } = raw as { type?: unknown; id?: unknown };
    if (typeof type !== 'string' || !(ITEM_TYPES as readonly string[]).includes(type)) throw invalid('BadRequest', `item type must be one of ${ITEM_TYPES.join(', ')}`);
    if (typeof id !== 'string' || !id || id.length > ID_MAX) throw invalid('BadRequest', `item id must be a string of at most ${ID_MAX} characters`);
    if (REPO_TYPES.includes(type)) {
      const repo = await this.repoOf(p, type as RepoType, id);
      if (!repo) throw notFound('RepoNotFound', `${type} ${id} not found`);
      return { type: type as CollectionItemType, ref: repo.id };
    }
    if (type === 'paper') {
      if (!PAPER_RE.test(id)) throw notFound('PaperNotFound', `paper ${id} not found (a paper id is its arXiv id, e.g. 2311.12983)`);
      return { type: 'paper', ref: id };
    }
    const cid = idOfSlug(id);
    const nested = cid ? await this.db.collections.get(cid) : null;
    if (!nested || !this.canSee(p, nested)) throw collectionNotFound();
    if (into && nested.id === into.id) throw invalid('BadRequest', 'a collection cannot hold itself');
    return { type: 'collection', ref: nested.id };
  }

  /** A repository `ns/name` of the type the caller may read, or null. */
  private async repoOf(p: Principal | null, type: RepoType, id: string): Promise<RepoRecord | null> {
    const parts = id.split('/');
    if (parts.length !== 2 || !parts[0] || !parts[1]) return null;
    const repo = await this.db.repos.find(type, parts[0], parts[1]);
    return repo && can(p, repo, 'read') ? repo : null;
  }

  async addItem(p: Principal | null, owner: string, slugTail: string, body: Body): Promise<CollectionRecord> {
    const c = await this.editable(p, owner, slugTail);
    const ref = await this.itemRef(p!, body.item, c);
    const n = body.note === undefined || body.note === null ? null : note(body.note);
    if (!(await this.db.collections.addItem(c.id, { ...ref, note: n }, MAX_ITEMS))) throw collectionNotFound();
    return (await this.db.collections.get(c.id)) ?? c;
  }

  async updateItem(p: Principal | null, owner: string, slugTail: string, itemId: string, body: Body): Promise<void> {
    const c = await this.editable(p, owner, slugTail);
    const patch: { note?: string | null; position?: number } = {};
    if (body.note !== undefined && body.note !== null) patch.note = note(body.note);
    if (body.position !== undefined && body.position !== null) patch.position = position(body.position, MAX_ITEMS);
    if (!HEX24.test(itemId) || !(await this.db.collections.updateItem(c.id, itemId, patch))) throw itemNotFound();
  }

  async deleteItem(p: Principal | null, owner: string, slugTail: string, itemId: string): Promise<void> {
    const c = await this.editable(p, owner, slugTail);
    if (!HEX24.test(itemId) || !(await this.db.collections.deleteItem(c.id, itemId))) throw itemNotFound();
  }

  /** Collections matching a listing's filters that the caller may see, one page; `more` when another page follows. */
  async list(p: Principal | null, query: CollectionQuery): Promise<{ collections: CollectionRecord[]; more: boolean }> {
    if (query.owners.length > MAX_FILTERS || query.items.length > MAX_FILTERS) throw invalid('BadRequest', `at most ${MAX_FILTERS} owners and ${MAX_FILTERS} items`);
    if (query.sort !== null && !SORTS.includes(query.sort)) throw invalid('BadRequest', `sort must be one of ${SORTS.join(', ')}`);
    if (query.q !== null && query.q.length > Q_MAX) throw invalid('BadRequest', `q must be at most ${Q_MAX} characters`);
    let namespaces: string[] | undefined;
    if (query.owners.length) {
      namespaces = [];
      for (const o of query.owners) {
        const h = o.length <= 96 ? await this.db.names.holder(o) : null;
        if (h) namespaces.push(h.name);
      }
    }
    let items: { type: CollectionItemType; ref: string }[] | undefined;
    if (query.items.length) {
      items = [];
      for (const it of query.items) {
        const ref = await this.filterItem(p, it);
        if (ref) items.push(ref);
      }
    }
    const privateOf = p?.user.isAdmin ? ('*' as const) : p ? [p.user.name, ...p.orgs.keys()] : [];
    // Every sort is by last update: packhub keeps no upvotes or trending scores (all are 0).
    const rows = await this.db.collections.list({ namespaces, items, q: query.q ? query.q.toLowerCase() : undefined, privateOf }, query.offset, query.limit + 1);
    return { collections: rows.slice(0, query.limit), more: rows.length > query.limit };
  }

  /** `models/ns/r`, `datasets/…`, `spaces/…`, `papers/id`, `collections/slug-or-id` -> the stored item, or null when there is none the caller sees. */
  private async filterItem(p: Principal | null, spec: string): Promise<{ type: CollectionItemType; ref: string } | null> {
    const slash = spec.indexOf('/');
    const plural = slash < 0 ? spec : spec.slice(0, slash);
    const id = slash < 0 ? '' : spec.slice(slash + 1);
    const type = { models: 'model', datasets: 'dataset', spaces: 'space', papers: 'paper', collections: 'collection' }[plural] as CollectionItemType | undefined;
    if (!type || !id || id.length > ID_MAX) throw invalid('BadRequest', `item must be {models|datasets|spaces|papers|collections}/{id}, e.g. models/ns/name; got ${JSON.stringify(spec.slice(0, 60))}`);
    if (REPO_TYPES.includes(type)) {
      const repo = await this.repoOf(p, type as RepoType, id);
      return repo ? { type, ref: repo.id } : null;
    }
    if (type === 'paper') return { type, ref: id };
    const cid = idOfSlug(id);
    const c = cid ? await this.db.collections.get(cid) : null;
    return c && this.canSee(p, c) ? { type, ref: c.id } : null;
  }

  /**
   * The JSON of collections as the caller sees them: with `position` and every visible item
   * (single collection), or without `position` and the first `LIST_ITEMS` visible items (listings).
   */
  async json(p: Principal | null, cols: CollectionRecord[], opts: { listing: boolean; base: string }): Promise<Record<string, unknown>[]> {
    const all = await this.db.collections.items(cols.map((c) => c.id));
    // What each item points at, if the caller may see it; looked up only as far as the answer needs.
    const repos = new Map<string, RepoRecord | null>();
    const nested = new Map<string, CollectionRecord | null>();
    const target = async (i: CollectionItemRecord): Promise<RepoRecord | CollectionRecord | string | null> => {
      if (REPO_TYPES.includes(i.type)) {
        if (!repos.has(i.ref)) {
          const r = await this.db.repos.findById(i.ref);
          repos.set(i.ref, r && r.type === i.type && can(p, r, 'read') ? r : null);
        }
        return repos.get(i.ref)!;
      }
      if (i.type === 'collection') {
        if (!nested.has(i.ref)) {
          const c = await this.db.collections.get(i.ref);
          nested.set(i.ref, c && this.canSee(p, c) ? c : null);
        }
        return nested.get(i.ref)!;
      }
      return i.ref;
    };
    const shown = new Map<string, CollectionItemRecord[]>(cols.map((c) => [c.id, []]));
    for (const i of all) {
      const list = shown.get(i.collectionId)!;
      if (opts.listing && list.length >= LIST_ITEMS) continue;
      if ((await target(i)) !== null) list.push(i);
    }
    const visibleRepos = [...repos.values()].filter((r): r is RepoRecord => r !== null).map((r) => r.id);
    const [likes, gates, liked] = await Promise.all([
      this.db.likes.counts(visibleRepos),
      this.db.gated.modes(visibleRepos),
      p && visibleRepos.length ? this.db.likes.ofUser(p.user.id).then((l) => new Set(l.map((x) => x.repoId))) : Promise.resolve(new Set<string>()),
    ]);
    const owners = new Map<string, Record<string, unknown>>();
    for (const ns of new Set(cols.map((c) => c.namespace))) owners.set(ns, await this.ownerJson(ns));

    const itemJson = (i: CollectionItemRecord, pos: number): Record<string, unknown> => {
      const base: Record<string, unknown> = { _id: i.id, position: pos, type: i.type };
      if (i.note) base.note = noteJson(i.note);
      if (REPO_TYPES.includes(i.type)) {
        const r = repos.get(i.ref)!;
        return {
          ...base,
          id: `${r.namespace}/${r.name}`,
          author: r.namespace,
          repoType: r.type,
          private: r.private,
          gated: gates.get(r.id) ?? false,
          downloads: 0,
          likes: likes.get(r.id) ?? 0,
          isLikedByUser: liked.has(r.id),
          lastModified: r.updatedAt.toISOString(),
        };
      }
      if (i.type === 'collection') {
        const c = nested.get(i.ref)!;
        return { ...base, id: c.id, slug: collectionSlug(c), title: c.title, private: c.private, theme: c.theme, lastUpdated: c.updatedAt.toISOString() };
      }
      return { ...base, id: i.ref };
    };

    return cols.map((c) => {
      const slug = collectionSlug(c);
      const out: Record<string, unknown> = {
        slug,
        title: c.title,
        ...(c.description !== null ? { description: c.description } : {}),
        owner: owners.get(c.namespace),
        items: shown.get(c.id)!.map((i, n) => itemJson(i, n)),
        lastUpdated: c.updatedAt.toISOString(),
        theme: c.theme,
        private: c.private,
        upvotes: 0,
        isUpvotedByUser: false,
        gating: false,
      };
      if (!opts.listing) Object.assign(out, { position: c.position, shareUrl: `${opts.base}/collections/${slug}` });
      return out;
    });
  }

  private async ownerJson(ns: string): Promise<Record<string, unknown>> {
    const holder = await this.db.names.holder(ns);
    const isOrg = holder?.kind === 'org';
    const rec = isOrg ? await this.db.orgs.findByName(ns) : await this.db.users.findByName(ns);
    return {
      _id: String(rec?.id ?? 0).padStart(24, '0'),
      name: ns,
      fullname: ns,
      avatarUrl: null,
      type: isOrg ? 'org' : 'user',
      isPro: false,
      isHf: false,
      isHfAdmin: false,
      isMod: false,
      followerCount: 0,
    };
  }
}
