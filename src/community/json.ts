import type { DiscussionEventRecord, DiscussionRecord, RepoRecord } from '../db/db.js';

/**
 * The Hub's JSON for discussions and their events. Events come from this one function, with nothing
 * that depends on who asks: the event a write answers equals, key for key, the same event in the
 * thread read later (the Python client compares them).
 */

const author = (name: string | null) => (name ? { author: { name, type: 'user' } } : {});

export function summaryJson(repo: RepoRecord, d: DiscussionRecord): Record<string, unknown> {
  return {
    num: d.num,
    title: d.title,
    status: d.status,
    isPullRequest: d.isPullRequest,
    createdAt: d.createdAt.toISOString(),
    ...author(d.authorName),
    repo: { name: `${repo.namespace}/${repo.name}`, type: repo.type },
    pinned: false,
  };
}

export function eventJson(e: Pick<DiscussionEventRecord, 'id' | 'type' | 'createdAt' | 'authorName' | 'data'>): Record<string, unknown> {
  return { id: e.id, type: e.type, createdAt: e.createdAt.toISOString(), ...author(e.authorName), data: e.data };
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** Comment text as HTML: escaped, paragraphs by blank lines, line breaks kept. No markup of the author's runs. */
export function commentHtml(raw: string): string {
  const paragraphs = raw.split(/\n{2,}/).filter((p) => p.trim());
  return paragraphs.map((p) => `<p>${escapeHtml(p).replace(/\n/g, '<br>\n')}</p>\n`).join('');
}

/** A comment event's data: the latest version first-class, earlier ones in `history` (newest first). */
export interface CommentData {
  edited: boolean;
  hidden: boolean;
  latest: { raw: string; html: string; updatedAt: string; author?: { name: string } };
  numEdits: number;
  editors: string[];
  history: { raw: string; html: string; updatedAt: string; author?: { name: string } }[];
  [key: string]: unknown;
}

export function newComment(raw: string, by: string, at: Date): CommentData {
  return { edited: false, hidden: false, latest: { raw, html: commentHtml(raw), updatedAt: at.toISOString(), author: { name: by } }, numEdits: 0, editors: [by], history: [] };
}
