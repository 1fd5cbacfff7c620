// The UI talks to the same HTTP API as every client; the session cookie authenticates it and the
// custom header (which cross-site forms cannot send) marks the request as the UI's own.
// Failures become ApiError: a sentence for people (no status codes), with the status and the
// server's error code kept for the code that needs them.
export const UI_HEADERS = { 'X-Packhub-UI': '1' };

export class ApiError extends Error {
  /**
   * @param {string} message what to tell the reader
   * @param {{ status?: number, code?: string, signIn?: boolean }} [info] signIn: signing in may help
   */
  constructor(message, info = {}) {
    super(message);
    this.name = 'ApiError';
    this.status = info.status ?? 0;
    this.code = info.code ?? '';
    this.signIn = !!info.signIn;
  }
}

/** The server's own words, without any leading "404:" and with a full stop. */
function tidy(text) {
  const t = String(text ?? '').replace(/^\s*\d{3}\s*[:-]\s*/, '').trim();
  if (!t) return '';
  return /[.!?]$/.test(t) ? t : `${t}.`;
}
const capital = (s) => (s ? s[0].toUpperCase() + s.slice(1) : s);

/** The sentence for a failed answer. */
export function humanMessage(status, code, serverMessage) {
  const said = capital(tidy(serverMessage));
  // Anonymous callers hear 401 for a repository they cannot see, as the Hub answers: it may not exist.
  if (code === 'RepoNotFound') return { message: 'This repository does not exist, or it is private.', signIn: true };
  switch (status) {
    case 401:
      return { message: 'You need to sign in to do this.', signIn: true };
    case 403:
      return { message: said && !/^forbidden\.?$/i.test(said) ? said : "You don't have permission to do this.", signIn: true };
    case 404:
      if (code === 'RevisionNotFound') return { message: 'This branch, tag or commit does not exist in this repository.' };
      if (code === 'EntryNotFound') return { message: 'This file or folder does not exist at this revision.' };
      return { message: 'Nothing was found here.', signIn: true };
    case 413:
      return { message: `This is too large for the hub. ${said}`.trim() };
    case 429:
      return { message: 'Too many requests: wait a moment and try again.' };
    default:
      if (status >= 500) return { message: 'The hub could not do this right now. Try again in a moment; if it keeps failing, tell the hub operator.' };
      return { message: said || 'The request was refused.' };
  }
}

export async function errorFrom(res) {
  let said = res.headers.get('x-error-message') ?? '';
  let code = res.headers.get('x-error-code') ?? '';
  try {
    const body = await res.json();
    said = body?.error?.message || (typeof body?.error === 'string' ? body.error : '') || body?.message || said;
    code = body?.error?.code || code;
  } catch {}
  try {
    said = decodeURIComponent(said);
  } catch {}
  const { message, signIn } = humanMessage(res.status, code, said);
  return new ApiError(message, { status: res.status, code, signIn });
}

/** fetch, with a network failure worded for people. */
export async function request(path, init = {}) {
  let res;
  try {
    res = await fetch(path, { ...init, headers: { ...UI_HEADERS, ...(init.headers ?? {}) } });
  } catch (e) {
    if (e?.name === 'AbortError') throw e;
    throw new ApiError('The hub could not be reached. Check your connection and try again.');
  }
  if (!res.ok) throw await errorFrom(res);
  return res;
}

export async function get(path) {
  return (await request(path)).json();
}
/** JSON and the response's headers (paging: Link, X-Total-Count). */
export async function getWithHeaders(path) {
  const res = await request(path);
  return { body: await res.json(), headers: res.headers };
}
export async function text(path) {
  return (await request(path)).text();
}
export async function send(method, path, body) {
  const res = await request(path, { method, headers: { 'Content-Type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  const t = await res.text();
  return t ? JSON.parse(t) : null;
}

/** The error's text for people: ApiErrors as they are, anything else as a plain sentence. */
export function describe(e) {
  if (e instanceof ApiError) return e;
  return new ApiError(capital(tidy(e?.message ?? String(e))) || 'Something went wrong.');
}
