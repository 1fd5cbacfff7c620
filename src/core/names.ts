import { invalid } from './errors.js';

/**
 * Names of users, organizations (namespaces) and repositories, as the Hub allows them: letters,
 * digits, '.', '_' and '-', starting with a letter, digit or '_' (HF's CI user is __DUMMY_HUB_USER__)
 * and ending in a letter, digit or '_', at most
 * 96 characters, with no '..' or '--' (HF clients use '--' as a separator in cache paths) and not
 * ending in '.git' (git URLs append it).
 *
 * Users and organizations share one name space, compared case-insensitively (nameKey): `ACME` cannot
 * be registered while `acme` exists. The database enforces it (a unique key column filled in the same
 * transaction as the account); these functions only decide what a valid name is.
 */
const NAME_RE = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,95}$/;

/**
 * Names a user or organization may not take (compared case-insensitively), because a URL with one
 * as its first segment means something else:
 * - packhub's own top-level routes: HF API, UI API, LFS transfers, UI assets, operations endpoints,
 *   the dataset and space prefixes, and files a browser asks the site root for;
 * - the Hub's top-level pages, so HF links and clients never meet a namespace where the Hub has a page.
 */
export const RESERVED_NAMES: ReadonlySet<string> = new Set([
  // packhub routes (src/app.ts, src/hf/http.ts, src/lfs/http.ts, src/auth/ui-api.ts)
  'api', 'ui-api', 'lfs', 'assets', 'metrics', 'healthz', 'readyz', 'models', 'datasets', 'spaces',
  'favicon.ico', 'robots.txt', 'index.html', 'static', 'public', 'src', 'ui',
  // UI pages (hash routes)
  'new', 'login', 'logout', 'register', 'tokens', 'settings',
  // the Hub's top-level pages
  'docs', 'join', 'organizations', 'pricing', 'blog', 'papers', 'collections', 'search', 'notifications',
  'welcome', 'enterprise', 'learn', 'tasks', 'posts', 'chat', 'billing', 'user', 'users', 'org', 'orgs',
  'help', 'about', 'privacy', 'terms', 'status', 'admin', 'administrator', 'huggingface', 'hf',
]);

/** The form names are compared in: ASCII lower case (valid names are ASCII). */
export const nameKey = (name: string): string => name.toLowerCase();

export const isReservedName = (name: string): boolean => RESERVED_NAMES.has(nameKey(name));

function check(kind: string, name: string): string {
  if (typeof name !== 'string' || !NAME_RE.test(name) || name.includes('..') || name.includes('--') || /\.git$/i.test(name) || /[.-]$/.test(name)) {
    throw invalid(
      'InvalidName',
      `invalid ${kind} '${name}': use letters, digits, '_', '-' and '.', start with a letter, digit or '_', at most 96 characters, no '..' or '--', not ending in '.', '-' or '.git'`,
    );
  }
  return name;
}

function checkAccount(kind: string, name: string): string {
  check(kind, name);
  if (isReservedName(name)) throw invalid('ReservedName', `invalid ${kind} '${name}': the name is reserved (it is part of the hub's URLs)`);
  return name;
}

export const validateRepoName = (name: string) => check('repository name', name);
/** A namespace a repository is created in: a user's or an organization's name (so never a reserved one). */
export const validateNamespace = (name: string) => checkAccount('namespace', name);
export const validateUserName = (name: string) => checkAccount('user name', name);
export const validateOrgName = (name: string) => checkAccount('organization name', name);
