// A small client router over the history API, with the Hub's URLs:
//   /                        home and search          /login  /register  /new
//   /settings/tokens         access tokens
//   /settings/account        the account: change password
//   /admin  /admin/jobs[/{id}]  /admin/mirrors[/{models|datasets|spaces}/{ns}/{name}]  /admin/users  /admin/settings (operators)
//   /{ns}                    a user or organization
//   /{ns}/{name}             a model (/datasets/{ns}/{name}, /spaces/{ns}/{name} for the others)
//   .../tree/{rev}/{path}    a folder    .../blob/{rev}/{path}  a file
//   .../commits/{rev}        history     .../commit/{sha}       one commit
//   .../discussions          the Community tab   .../discussions/{num}[/files]  a thread, a pull request's files
// The server answers every such path that a browser asks for (Accept: text/html) with this app.
// Old links of the form /#/... are redirected to their path.

/** First path segments that name pages, not users or organizations. */
const PAGES = new Set(['login', 'register', 'new', 'settings', 'admin', 'tokens', 'models', 'datasets', 'spaces', 'api', 'ui-api', 'assets', 'lfs']);
const REPO_VIEWS = new Set(['tree', 'blob', 'commits', 'commit', 'discussions']);

export const router = $state({ path: location.pathname, query: new URLSearchParams(location.search) });

const decode = (s) => {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
};

/**
 * What a path shows: { page, ...params }. Repository pages carry repo ({ kind, id }), view ('card',
 * 'tree', 'blob', 'commits', 'commit'), rev (null: the default branch), path and sha.
 */
export function match(pathname) {
  const parts = pathname.split('/').filter(Boolean);
  const seg = parts.map(decode);
  if (seg.length === 0) return { page: 'home' };
  const [first] = seg;
  if (seg.length === 1 && ['login', 'register', 'new'].includes(first)) return { page: first };
  if ((seg.length === 2 && first === 'settings' && seg[1] === 'tokens') || (seg.length === 1 && first === 'tokens')) return { page: 'tokens' };
  if (seg.length === 2 && first === 'settings' && seg[1] === 'account') return { page: 'account' };
  if (first === 'admin') return matchAdmin(seg.slice(1));
  let kind = 'models';
  let rest = seg;
  if (['datasets', 'spaces', 'models'].includes(first) && seg.length >= 3) {
    kind = first;
    rest = seg.slice(1);
  } else if (PAGES.has(first)) return { page: 'not-found' };
  if (rest.length === 1) return kind === 'models' && rest === seg ? { page: 'namespace', name: rest[0] } : { page: 'not-found' };
  const repo = { kind, id: `${rest[0]}/${rest[1]}` };
  if (rest.length === 2) return { page: 'repo', repo, view: 'card', rev: null, path: '' };
  const view = rest[2];
  if (!REPO_VIEWS.has(view)) return { page: 'not-found' };
  if (view === 'discussions') return matchCommunity(repo, rest.slice(3));
  // The revision is one segment (encoded slashes stay in it); the path is the rest.
  const rev = rest[3] ?? null;
  const path = rest.slice(4).join('/');
  if (view === 'commit') return rev ? { page: 'repo', repo, view, sha: rev, rev: null, path: '' } : { page: 'not-found' };
  if (view === 'blob' && (!rev || !path)) return { page: 'not-found' };
  return { page: 'repo', repo, view, rev, path };
}

/** The Community tab (view 'community') and one thread (view 'discussion', num, tab 'thread' | 'files'). */
function matchCommunity(repo, rest) {
  const base = { page: 'repo', repo, rev: null, path: '' };
  if (rest.length === 0) return { ...base, view: 'community' };
  if (!/^[1-9]\d{0,9}$/.test(rest[0]) || rest.length > 2 || (rest.length === 2 && rest[1] !== 'files')) return { page: 'not-found' };
  return { ...base, view: 'discussion', num: Number(rest[0]), tab: rest[1] === 'files' ? 'files' : 'thread' };
}

/** The operator's pages under /admin. */
function matchAdmin(rest) {
  if (rest.length === 0) return { page: 'admin-overview' };
  const [area, ...more] = rest;
  if (more.length === 0 && ['users', 'settings', 'jobs', 'mirrors'].includes(area)) return { page: `admin-${area}` };
  if (area === 'jobs' && more.length === 1) return { page: 'admin-job', id: more[0] };
  if (area === 'mirrors' && more.length === 3 && ['models', 'datasets', 'spaces'].includes(more[0])) return { page: 'admin-mirror', type: more[0].slice(0, -1), id: `${more[1]}/${more[2]}` };
  return { page: 'not-found' };
}

/** An old /#/... location as its path today, or null. */
export function legacyPath(hash) {
  if (!hash.startsWith('#/')) return null;
  const [p, q] = hash.slice(1).split('?');
  const query = q ? `?${q}` : '';
  if (p === '/tokens') return `/settings/tokens${query}`;
  const m = /^\/(models|datasets|spaces)\/([^/]+)\/([^/]+)(?:\/blob\/(.+)|\/commit\/([0-9a-f]{40}))?$/.exec(p);
  if (m) {
    const base = m[1] === 'models' ? `/${m[2]}/${m[3]}` : `/${m[1]}/${m[2]}/${m[3]}`;
    // Old file links had no revision: HEAD, which the repository page replaces with its default branch.
    if (m[4]) return `${base}/blob/HEAD/${decode(m[4]).split('/').map(encodeURIComponent).join('/')}${query}`;
    if (m[5]) return `${base}/commit/${m[5]}${query}`;
    return `${base}${query}`;
  }
  return `${p}${query}`;
}

function sync() {
  router.path = location.pathname;
  router.query = new URLSearchParams(location.search);
}

export function navigate(to, { replace = false } = {}) {
  const url = new URL(to, location.href);
  if (url.origin !== location.origin) {
    location.href = url.href;
    return;
  }
  const target = url.pathname + url.search + url.hash;
  if (target === location.pathname + location.search + location.hash && !replace) return;
  history[replace ? 'replaceState' : 'pushState'](null, '', target);
  sync();
  if (!url.hash) window.scrollTo(0, 0);
}

/** Paths the server answers itself (downloads, git, the API): links to them leave the app. */
const SERVER_PATH = /^\/(api|ui-api|assets|lfs)\/|\/(resolve|raw)\/|\.git(\/|$)/;

function onClick(e) {
  if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const a = e.target instanceof Element ? e.target.closest('a[href]') : null;
  if (!a || a.hasAttribute('download') || (a.target && a.target !== '_self') || a.getAttribute('rel')?.includes('external')) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin || SERVER_PATH.test(url.pathname)) return;
  // A link to an anchor on this page is the browser's to follow.
  if (url.pathname === location.pathname && url.search === location.search && url.hash) return;
  e.preventDefault();
  navigate(url.pathname + url.search + url.hash);
}

export function startRouter() {
  const legacy = legacyPath(location.hash);
  if (legacy) history.replaceState(null, '', legacy);
  sync();
  window.addEventListener('popstate', sync);
  window.addEventListener('hashchange', () => {
    const moved = legacyPath(location.hash);
    if (moved) navigate(moved, { replace: true });
  });
  document.addEventListener('click', onClick);
}
