// Discussions and pull requests of a repository, through the Hub API's discussion endpoints
// (the same JSON the Hub's clients read); the session authenticates as for every other module.
import { get, send } from './http.js';
import { repoPath } from './repos.js';

const enc = encodeURIComponent;
const api = (repo) => `/api/${repo.kind}/${repo.id}/discussions`;

/** Where the UI shows the Community tab, a thread, and a pull request's changed files. */
export const communityUrl = (repo, query = '') => `${repoPath(repo)}/discussions${query ? `?${query}` : ''}`;
export const discussionUrl = (repo, num) => `${repoPath(repo)}/discussions/${num}`;
export const filesUrl = (repo, num) => `${repoPath(repo)}/discussions/${num}/files`;

/** One page (50) of the list: { discussions, count, start }; status 'all' | 'open' | 'closed', type 'all' | 'discussion' | 'pull_request'. */
export function list(repo, { status = 'all', type = 'all', page = 0 } = {}) {
  const q = new URLSearchParams();
  if (status !== 'all') q.set('status', status);
  if (type !== 'all') q.set('type', type);
  if (page) q.set('p', String(page));
  const s = q.toString();
  return get(`${api(repo)}${s ? `?${s}` : ''}`);
}

/** A thread with its events; a pull request also with its base, conflicts and (diff) its diff text. */
export const details = (repo, num, { diff = false } = {}) => get(`${api(repo)}/${enc(num)}${diff ? '?diff=1' : ''}`);

export const create = (repo, { title, description, pullRequest = false }) => send('POST', api(repo), { title, description, ...(pullRequest ? { pullRequest: true } : {}) });
export const comment = (repo, num, text) => send('POST', `${api(repo)}/${enc(num)}/comment`, { comment: text });
export const rename = (repo, num, title) => send('POST', `${api(repo)}/${enc(num)}/title`, { title });
/** 'open' or 'closed', with an optional comment. */
export const setStatus = (repo, num, status, text) => send('POST', `${api(repo)}/${enc(num)}/status`, { status, ...(text ? { comment: text } : {}) });
export const merge = (repo, num, text) => send('POST', `${api(repo)}/${enc(num)}/merge`, text ? { comment: text } : {});
export const editComment = (repo, num, id, content) => send('POST', `${api(repo)}/${enc(num)}/comment/${enc(id)}/edit`, { content });
export const hideComment = (repo, num, id) => send('POST', `${api(repo)}/${enc(num)}/comment/${enc(id)}/hide`);

/**
 * May the signed-in user write to the repository (merge, and change any thread)? Its owner, an
 * administrator, or a member of its organization with the write or admin role. The server decides
 * anyway; this only chooses which buttons to show.
 */
export function canWrite(me, repo) {
  if (!me) return false;
  const ns = repo.id.split('/')[0];
  if (me.isAdmin || me.name === ns) return true;
  return (me.orgs ?? []).some((o) => o.name === ns && (o.role === 'write' || o.role === 'admin'));
}

/**
 * A `git diff` text as files: { path, status: 'added' | 'deleted' | 'modified', binary, lines }.
 * Lines keep their first character (+, -, space) and hunk headers (@@).
 */
export function parseDiff(text) {
  const files = [];
  let f = null;
  for (const line of (text ?? '').split('\n')) {
    const head = /^diff --git a\/(.*) b\/(.*)$/.exec(line);
    if (head) {
      f = { path: head[2], status: 'modified', binary: false, lines: [], added: 0, removed: 0 };
      files.push(f);
      continue;
    }
    if (!f) continue;
    if (f.lines.length === 0) {
      // The header: modes, index, ---/+++ lines, or the binary note.
      if (line.startsWith('new file mode')) f.status = 'added';
      else if (line.startsWith('deleted file mode')) f.status = 'deleted';
      else if (line.startsWith('Binary files ')) f.binary = true;
      if (!line.startsWith('@@')) continue;
    }
    if (line.startsWith('\\')) continue;
    f.lines.push(line);
    if (line.startsWith('+')) f.added++;
    else if (line.startsWith('-')) f.removed++;
  }
  for (const x of files) while (x.lines.length && x.lines[x.lines.length - 1] === '') x.lines.pop();
  return files;
}
