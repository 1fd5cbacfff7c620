import { invalid } from './errors.js';

/**
 * Names of users, organizations (namespaces) and repositories, as the Hub allows them: letters,
 * digits, '.', '_' and '-', starting with a letter, digit or '_' (HF's CI user is __DUMMY_HUB_USER__)
 * and ending in a letter, digit or '_', at most
 * 96 characters, with no '..' or '--' (HF clients use '--' as a separator in cache paths) and not
 * ending in '.git' (git URLs append it).
 */
const NAME_RE = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,95}$/;

function check(kind: string, name: string): string {
  if (typeof name !== 'string' || !NAME_RE.test(name) || name.includes('..') || name.includes('--') || /\.git$/i.test(name) || /[.-]$/.test(name)) {
    throw invalid(
      'InvalidName',
      `invalid ${kind} '${name}': use letters, digits, '_', '-' and '.', start with a letter, digit or '_', at most 96 characters, no '..' or '--', not ending in '.', '-' or '.git'`,
    );
  }
  return name;
}

export const validateRepoName = (name: string) => check('repository name', name);
export const validateNamespace = (name: string) => check('namespace', name);
export const validateUserName = (name: string) => check('user name', name);
