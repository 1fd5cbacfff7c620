import { invalid } from './errors.js';

const NAME_RE = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,95}$/;

function check(kind: string, name: string): string {
  if (!NAME_RE.test(name) || name.includes('..') || name.includes('--') || name.endsWith('.git') || name.endsWith('.')) {
    throw invalid('InvalidName', `invalid ${kind} '${name}': use letters, digits, '_', '-' and '.', at most 96 characters, no '..' or '--', not ending in '.git'`);
  }
  return name;
}

export const validateRepoName = (name: string) => check('repository name', name);
export const validateNamespace = (name: string) => check('namespace', name);
export const validateUserName = (name: string) => check('user name', name);
