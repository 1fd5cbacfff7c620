// Operators only: accounts, the dashboard, jobs and mirrors (the server answers 404 to everyone else).
import { get, send } from './http.js';

const enc = encodeURIComponent;
export const listUsers = () => get('/ui-api/admin/users');
export const changeUser = (name, patch) => send('PATCH', `/ui-api/admin/users/${enc(name)}`, patch);
export const deleteUser = (name) => send('DELETE', `/ui-api/admin/users/${enc(name)}`);

export const overview = () => get('/api/admin/overview');
export const settings = () => get('/api/admin/settings');

/** Jobs, newest first: filters { kind, state, repo, q }, paged by `before` (a job id). */
export function listJobs(filter = {}, before = null) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(filter)) if (v) q.set(k, v);
  if (before) q.set('before', before);
  q.set('limit', '50');
  return get(`/api/admin/jobs?${q}`);
}
/** A job and its log lines after `after` (a sequence number). */
export const job = (id, after = 0) => get(`/api/admin/jobs/${enc(id)}${after ? `?after=${after}` : ''}`);
export const cancelJob = (id) => send('POST', `/api/admin/jobs/${enc(id)}/cancel`);
export const retryJob = (id) => send('POST', `/api/admin/jobs/${enc(id)}/retry`);
/** Queues a garbage collection (dry run: only reports what it would reclaim). */
export const collectGarbage = (dryRun = false) => send('POST', '/api/admin/jobs', { kind: 'storage.gc', params: dryRun ? { dryRun: true } : {} });

const mirrorPath = (type, id) => `/api/admin/mirrors/${type}s/${id.split('/').map(enc).join('/')}`;
export const listMirrors = () => get('/api/admin/mirrors');
/** { repo, type, revision, include, exclude, download } -> { mirror, jobs } */
export const registerMirror = (body) => send('POST', '/api/admin/mirrors', body);
export const mirror = (type, id) => get(mirrorPath(type, id));
export const syncMirror = (type, id, download = false) => send('POST', `${mirrorPath(type, id)}/sync`, { download });
/** Paths are files or folders ("dir/"). */
export const downloadMirror = (type, id, include) => send('POST', `${mirrorPath(type, id)}/download`, include ? { include } : {});
export const detachMirror = (type, id) => send('POST', `${mirrorPath(type, id)}/detach`);
