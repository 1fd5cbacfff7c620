import { GitFormatError } from '../../core/errors.js';
import type { RepoObjects } from './repo-objects.js';

export type ObjectFilter = { kind: 'blob:none' } | { kind: 'blob:limit'; limit: number };

export interface EnumerateRequest {
  wants: string[];
  /** Commits the client said it has and we have too. */
  commonHaves: string[];
  /** The client's current shallow boundary (`shallow` lines). */
  clientShallow: string[];
  depth?: number;
  deepenRelative?: boolean;
  deepenSince?: number;
  /** Commit oids: nothing reachable from them is sent (deepen-not). */
  deepenNot?: string[];
  filter?: ObjectFilter;
  /** Annotated tags (oid of the tag object) that include-tag may add when their target is sent. */
  includeTags?: string[];
  /** Only compute the shallow/unshallow lists (v0 sends them before the haves arrive). */
  shallowOnly?: boolean;
}

export interface Enumeration {
  /** Objects to send, in pack order: commits, tags, then trees and blobs in traversal order. */
  objects: string[];
  /** Objects the client is known to have (usable as thin-pack delta bases). */
  clientHas: Set<string>;
  shallow: string[];
  unshallow: string[];
  deepening: boolean;
}

export const INFINITE_DEPTH = 0x7fffffff;

/** Parse `blob:none`, `blob:limit=<n>[kmg]`; other filter specs are refused. */
export function parseFilter(spec: string): ObjectFilter {
  if (spec === 'blob:none') return { kind: 'blob:none' };
  const m = /^blob:limit=(\d+)([kmg]?)$/i.exec(spec);
  if (m) {
    const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g'];
    return { kind: 'blob:limit', limit: Number(m[1]) * mult };
  }
  throw new GitFormatError(`filter '${spec}' not supported (packhub supports blob:none and blob:limit=<n>)`);
}

interface CommitInfo {
  tree: string;
  parents: string[];
  time: number;
}

/**
 * Decides which objects a fetch sends: commits reachable from the wants but not from the common
 * haves (honouring the shallow boundary and deepen requests), their trees and blobs minus what
 * the edge commits already give the client, filtered per the object filter.
 */
export function enumerateObjects(objects: RepoObjects, req: EnumerateRequest): Enumeration {
  const commits = new Map<string, CommitInfo>();
  const commitInfo = (oid: string): CommitInfo => {
    let c = commits.get(oid);
    if (!c) {
      const parsed = objects.commit(oid);
      c = { tree: parsed.tree, parents: parsed.parents, time: parsed.committer.timestamp };
      commits.set(oid, c);
    }
    return c;
  };

  const out: string[] = [];
  const sent = new Set<string>();
  const add = (oid: string) => {
    if (!sent.has(oid)) {
      sent.add(oid);
      out.push(oid);
    }
  };

  // Wants: peel tags (sending the tag objects), keep commits, trees and blobs apart.
  const wantCommits: string[] = [];
  const explicitTrees: string[] = [];
  const explicitBlobs: string[] = [];
  const wantTags: string[] = [];
  // Many wants (a partial clone's lazy fetch names its blobs in path order) are looked at in stored
  // order, so reading their types goes forward through the pack.
  const wantOrder = req.wants.length > 64 ? objects.storedOrder(req.wants) : null;
  for (let w = 0; w < req.wants.length; w++) {
    const want = req.wants[wantOrder ? wantOrder[w]! : w]!;
    let cur = want;
    for (let i = 0; i < 64; i++) {
      const t = objects.type(cur);
      if (t === null) throw new GitFormatError(`not our ref ${want}`);
      if (t === 'tag') {
        wantTags.push(cur);
        cur = objects.tag(cur).object;
        continue;
      }
      if (t === 'commit') wantCommits.push(cur);
      else if (t === 'tree') explicitTrees.push(cur);
      else explicitBlobs.push(cur);
      break;
    }
  }

  // Shallow: compute the new boundary and what becomes unshallow.
  const clientShallow = new Set(req.clientShallow.filter((o) => objects.has(o)));
  const shallowOut: string[] = [];
  const unshallowOut: string[] = [];
  const boundary = new Set<string>(clientShallow); // commits whose parents the walk must not cross
  const deepening = req.depth !== undefined || req.deepenSince !== undefined || (req.deepenNot?.length ?? 0) > 0;
  const extraWants: string[] = [];
  if (deepening) {
    const notShallow = new Set<string>();
    const newShallow = new Set<string>();
    if (req.depth !== undefined && req.depth >= INFINITE_DEPTH) {
      for (const s of clientShallow) notShallow.add(s);
    } else if (req.depth !== undefined) {
      const starts = req.deepenRelative ? [...clientShallow] : wantCommits;
      const limit = req.deepenRelative ? req.depth + 1 : req.depth;
      const depthOf = new Map<string, number>();
      let frontier = [...new Set(starts)];
      for (const s of frontier) depthOf.set(s, 1);
      let level = 1;
      while (frontier.length) {
        const next: string[] = [];
        for (const c of frontier) {
          if (level >= limit) {
            newShallow.add(c);
            continue;
          }
          notShallow.add(c);
          for (const p of commitInfo(c).parents) {
            if (!depthOf.has(p) && objects.has(p)) {
              depthOf.set(p, level + 1);
              next.push(p);
            }
          }
        }
        frontier = next;
        level++;
      }
    } else {
      // deepen-since / deepen-not: include commits newer than `since` and not reachable from deepen-not.
      const excluded = new Set<string>();
      if (req.deepenNot?.length) {
        const stack = [...req.deepenNot];
        while (stack.length) {
          const c = stack.pop()!;
          if (excluded.has(c) || !objects.has(c)) continue;
          excluded.add(c);
          stack.push(...commitInfo(c).parents);
        }
      }
      const keep = (c: string) => !excluded.has(c) && (req.deepenSince === undefined || commitInfo(c).time >= req.deepenSince);
      const stack = wantCommits.filter(keep);
      const seen = new Set(stack);
      while (stack.length) {
        const c = stack.pop()!;
        notShallow.add(c);
        let cut = false;
        for (const p of commitInfo(c).parents) {
          if (!objects.has(p) || !keep(p)) cut = true;
          else if (!seen.has(p)) {
            seen.add(p);
            stack.push(p);
          }
        }
        if (cut) newShallow.add(c);
      }
      if (notShallow.size === 0) throw new GitFormatError('no commits selected for shallow requests');
      for (const c of newShallow) notShallow.delete(c);
    }
    for (const c of newShallow) {
      if (!clientShallow.has(c) && !notShallow.has(c)) shallowOut.push(c);
      boundary.add(c);
    }
    for (const s of clientShallow) {
      if (notShallow.has(s)) {
        unshallowOut.push(s);
        boundary.delete(s);
        // The client has the commit but not its history: send the parents onwards.
        extraWants.push(...commitInfo(s).parents.filter((p) => objects.has(p)));
      }
    }
  }

  if (req.shallowOnly) return { objects: [], clientHas: new Set(), shallow: shallowOut, unshallow: unshallowOut, deepening };

  // Everything reachable from the common haves is on the client (up to its shallow boundary).
  const uninteresting = new Set<string>();
  {
    const stack = req.commonHaves.filter((h) => objects.type(h) === 'commit');
    while (stack.length) {
      const c = stack.pop()!;
      if (uninteresting.has(c)) continue;
      uninteresting.add(c);
      if (clientShallow.has(c)) continue;
      for (const p of commitInfo(c).parents) if (!uninteresting.has(p) && objects.has(p)) stack.push(p);
    }
  }

  // Interesting commits: from the wants, stopping at what the client has and at the shallow boundary.
  const edges = new Set<string>();
  {
    const stack = [...wantCommits, ...extraWants].reverse();
    const seen = new Set<string>();
    while (stack.length) {
      const c = stack.pop()!;
      if (seen.has(c)) continue;
      seen.add(c);
      if (uninteresting.has(c)) {
        edges.add(c);
        continue;
      }
      add(c);
      if (boundary.has(c)) continue;
      const parents = commitInfo(c).parents;
      for (let i = parents.length - 1; i >= 0; i--) {
        const p = parents[i]!;
        if (!objects.has(p)) throw new GitFormatError(`commit ${c} names missing parent ${p}`);
        if (!seen.has(p)) stack.push(p);
      }
    }
    // Parents of sent commits that the client has are edges too (their trees are on the client).
    for (const c of out) {
      if (boundary.has(c)) continue;
      for (const p of commitInfo(c).parents) if (uninteresting.has(p)) edges.add(p);
    }
  }
  const sentCommits = out.length;

  // Tags: explicitly wanted ones, and with include-tag those whose target is sent.
  for (const t of wantTags) add(t);
  for (const t of req.includeTags ?? []) {
    let target = t;
    const chain: string[] = [];
    for (let i = 0; i < 64 && objects.type(target) === 'tag'; i++) {
      chain.push(target);
      target = objects.tag(target).object;
    }
    if (sent.has(target) && chain.every((x) => !uninteresting.has(x))) for (const x of chain) add(x);
  }

  // Trees and blobs the client has, found along the paths the sent trees take: each sent tree is
  // walked beside the trees at the same path in the edge commits (what the client has), and a
  // subtree or blob that is the same there is neither sent nor entered. Only the paths that
  // changed are read, not the whole of each edge commit's tree (100,000 entries in a dataset);
  // the edge entries met on the way are the client's objects, the bases a thin pack may use. An
  // object the client has only under another path is sent again: harmless, as git's own
  // clients accept objects they already have.
  const clientHas = new Set<string>(uninteresting);
  const keepBlob = (oid: string): boolean => {
    if (!req.filter) return true;
    if (req.filter.kind === 'blob:none') return false;
    return objects.size(oid) < req.filter.limit;
  };
  const edgeTrees = [...edges].map((e) => commitInfo(e).tree);
  const visitTree = (root: string, besideRoot: string[]) => {
    const stack: [string, string[]][] = [[root, besideRoot]];
    while (stack.length) {
      const [t, beside] = stack.pop()!;
      // The client's entries at this path, by name (trees always; blobs unless it may lack them).
      const theirs = new Map<string, string[]>();
      for (const b of beside) {
        for (const e of objects.tree(b)) {
          if (e.mode === '160000') continue;
          if (e.mode !== '40000' && req.filter) continue; // a partial client may lack edge blobs
          clientHas.add(e.oid);
          if (e.mode === '40000') {
            const list = theirs.get(e.name);
            if (list) list.push(e.oid);
            else theirs.set(e.name, [e.oid]);
          }
        }
      }
      for (const e of objects.tree(t)) {
        if (e.mode === '160000') continue; // submodule commit: not ours
        if (sent.has(e.oid) || clientHas.has(e.oid)) continue;
        if (e.mode === '40000') {
          add(e.oid);
          stack.push([e.oid, theirs.get(e.name) ?? []]);
        } else if (keepBlob(e.oid)) add(e.oid);
      }
    }
  };
  for (const t of edgeTrees) clientHas.add(t);
  for (let i = 0; i < sentCommits; i++) {
    const tree = commitInfo(out[i]!).tree;
    if (sent.has(tree) || clientHas.has(tree)) continue;
    add(tree);
    visitTree(tree, edgeTrees);
  }
  for (const t of explicitTrees) {
    if (!sent.has(t)) {
      add(t);
      visitTree(t, []);
    }
  }
  for (const b of explicitBlobs) add(b); // explicitly wanted blobs bypass the filter

  return { objects: out, clientHas, shallow: shallowOut, unshallow: unshallowOut, deepening };
}
