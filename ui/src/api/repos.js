// Repositories: info, refs, files, history, commits, and their settings, through the Hub API.
// A repository is named by { kind: 'models' | 'datasets' | 'spaces', id: 'ns/name' }.
import { get, getWithHeaders, request, send } from './http.js';

export const KINDS = ['models', 'datasets', 'spaces'];
export const singular = (kind) => kind.slice(0, -1);

const enc = encodeURIComponent;
/** A revision is one URL segment: a branch called feature/x travels as feature%2Fx. */
export const encRev = (rev) => enc(rev);
/** A path inside the repository keeps its slashes. */
export const encPath = (path) => path.split('/').map(enc).join('/');

/** Where the UI shows the repository: /ns/name for models, /datasets/ns/name for the others. */
export const repoPath = (repo) => (repo.kind === 'models' ? `/${repo.id}` : `/${repo.kind}/${repo.id}`);
/** The prefix of its git and download URLs (none for models). */
export const urlPrefix = (repo) => (repo.kind === 'models' ? '' : `/${repo.kind}`);
const api = (repo) => `/api/${repo.kind}/${repo.id}`;

export const treeUrl = (repo, rev, path = '') => `${repoPath(repo)}/tree/${encRev(rev)}${path ? `/${encPath(path)}` : ''}`;
export const blobUrl = (repo, rev, path) => `${repoPath(repo)}/blob/${encRev(rev)}/${encPath(path)}`;
export const commitsUrl = (repo, rev) => `${repoPath(repo)}/commits/${encRev(rev)}`;
export const commitUrl = (repo, sha) => `${repoPath(repo)}/commit/${sha}`;
/** The file's bytes (LFS content for LFS files). */
export const resolveUrl = (repo, rev, path) => `${urlPrefix(repo)}/${repo.id}/resolve/${encRev(rev)}/${encPath(path)}`;
/** The file as stored in git (the pointer for LFS files). */
export const rawUrl = (repo, rev, path) => `${urlPrefix(repo)}/${repo.id}/raw/${encRev(rev)}/${encPath(path)}`;
export const cloneUrl = (repo) => `${location.origin}${urlPrefix(repo)}/${repo.id}.git`;

export const info = (repo) => get(api(repo));
export const refs = (repo) => get(`${api(repo)}/refs`);

/** A listing's next page, from its Link header. */
const nextOf = (headers) => /<([^>]+)>;\s*rel="next"/.exec(headers.get('link') ?? '')?.[1] ?? null;

/** The entries of one folder (not recursive), every page of them, up to `max`. */
export async function folder(repo, rev, path = '', max = 10_000) {
  let url = `${api(repo)}/tree/${encRev(rev)}${path ? `/${encPath(path)}` : ''}?limit=1000`;
  const out = [];
  while (url && out.length < max) {
    const { body, headers } = await getWithHeaders(url);
    out.push(...body);
    const next = nextOf(headers);
    url = next ? new URL(next).pathname + new URL(next).search : null;
  }
  return { entries: out.slice(0, max), truncated: !!url };
}

/** The commit that last changed each entry of a folder (the expanded listing, 50 per page), up to `max` entries. */
export async function lastCommits(repo, rev, path = '', max = 500) {
  let url = `${api(repo)}/tree/${encRev(rev)}${path ? `/${encPath(path)}` : ''}?expand=true`;
  const out = new Map();
  while (url && out.size < max) {
    const { body, headers } = await getWithHeaders(url);
    for (const e of body) if (e.lastCommit) out.set(e.path, e.lastCommit);
    const next = nextOf(headers);
    url = next ? new URL(next).pathname + new URL(next).search : null;
  }
  return out;
}

/** Whether paths exist at a revision, with size and LFS facts (paths-info); `expand`: and their last commit. */
export async function pathsInfo(repo, rev, paths, expand = false) {
  return send('POST', `${api(repo)}/paths-info/${encRev(rev)}`, { paths, ...(expand ? { expand: true } : {}) });
}

/** One page of history: newest first; `total` counts every commit reachable from the revision. */
export async function commits(repo, rev, page = 0, limit = 30) {
  const { body, headers } = await getWithHeaders(`${api(repo)}/commits/${encRev(rev)}?p=${page}&limit=${limit}`);
  return { items: body, total: Number(headers.get('x-total-count') ?? body.length), hasNext: !!nextOf(headers) };
}

export const commitDiff = (repo, sha) => get(`${api(repo)}/commit-diff/${encRev(sha)}`);

/** Text of a file (for READMEs, configs and the file view). */
export async function fileText(repo, rev, path) {
  return (await request(resolveUrl(repo, rev, path))).text();
}

export const search = (kind, query) => get(`/api/${kind}?search=${enc(query)}`);
/** A listing narrowed and sorted by the API's own query parameters (search, filter, pipeline_tag, library, license, sort). */
export function listing(kind, params = {}) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v) q.set(k, v);
  return get(`/api/${kind}${q.size ? `?${q}` : ''}`);
}
export const byAuthor = (kind, author) => get(`/api/${kind}?author=${enc(author)}`);

export const create = ({ name, type, private: priv, organization }) => send('POST', '/api/repos/create', { name, type, private: priv, ...(organization ? { organization } : {}) });
export const remove = (repo) => send('DELETE', '/api/repos/delete', { name: repo.id, type: singular(repo.kind) });
export const setPrivate = (repo, priv) => send('PUT', `${api(repo)}/settings`, { private: priv });

/** A git pkt-line of ASCII text. */
const pkt = (line) => (line.length + 4).toString(16).padStart(4, '0') + line;
/** Answers past this many bytes are not read further (one ref-prefix HEAD line is all it holds). */
const LS_REFS_MAX_BYTES = 64 << 10;

/**
 * The branch HEAD names, as git clients learn it (protocol v2 ls-refs with symrefs and unborn): the
 * repository's own default branch, known even while it is empty. Null when the answer names none.
 */
export async function headBranch(repo) {
  const body = `${pkt('command=ls-refs\n')}0001${pkt('symrefs\n')}${pkt('unborn\n')}${pkt('ref-prefix HEAD\n')}0000`;
  const res = await request(`${urlPrefix(repo)}/${repo.id}.git/git-upload-pack`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-git-upload-pack-request', 'Git-Protocol': 'version=2' },
    body,
  });
  const reader = res.body.getReader();
  let text = '';
  const decoder = new TextDecoder();
  try {
    while (text.length < LS_REFS_MAX_BYTES) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
  } finally {
    reader.cancel().catch(() => undefined);
  }
  return /symref-target:refs\/heads\/(\S+)/.exec(text)?.[1] ?? null;
}

/**
 * Without HEAD's answer: the one its head commit (info.sha, resolved from HEAD) is on,
 * `main` when several are, and the repository's only branch otherwise.
 */
export function defaultBranch(info, refsList, head = null) {
  if (head) return head;
  const branches = refsList?.branches ?? [];
  const heads = branches.filter((b) => b.targetCommit === info.sha).map((b) => b.name);
  if (heads.includes('main')) return 'main';
  if (heads.includes('master')) return 'master';
  return heads[0] ?? branches[0]?.name ?? 'main';
}
