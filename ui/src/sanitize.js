// Every piece of HTML the UI inserts ({@html}) is built from user content (READMEs, files), so it
// goes through DOMPurify here, with an allowlist of the tags markdown and highlight.js produce and a
// URL check on every link and image. Together with the page's Content-Security-Policy (no inline
// script), a repository cannot make the UI run script.
import DOMPurify from 'dompurify';
import { marked } from 'marked';

const escapeHtml = (s) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
// Raw HTML in a README is shown as text, never interpreted.
marked.use({ renderer: { html: (token) => escapeHtml(token.text ?? token.raw ?? '') } });

/**
 * Links may lead to http(s), mailto, or a relative URL (resolved against the page, it becomes
 * http(s) too). The browser's own URL parser decides the scheme, so `java\tscript:`, `JaVaScRiPt:`
 * and entity-encoded forms are judged as the browser would judge them.
 */
const LINK_PROTOCOLS = new Set(['http:', 'https:', 'mailto:']);
/**
 * Images: http(s) and relative URLs, and `data:` only for base64 raster images (png, jpeg, gif,
 * webp, avif), which READMEs use for small inline pictures. An <img> never runs script, but SVG
 * and other data: types are refused anyway, so nothing but a plain picture can come from a data: URL.
 */
const IMAGE_PROTOCOLS = new Set(['http:', 'https:']);
const DATA_IMAGE = /^data:image\/(?:png|jpeg|gif|webp|avif);base64,[a-z0-9+/=\s]*$/i;

export function safeUrl(value, image = false) {
  let url;
  try {
    url = new URL(value, document.baseURI);
  } catch {
    return false;
  }
  if (image && url.protocol === 'data:') return DATA_IMAGE.test(value.trim());
  return (image ? IMAGE_PROTOCOLS : LINK_PROTOCOLS).has(url.protocol);
}

const URL_ATTRS = ['href', 'src', 'xlink:href', 'action', 'formaction', 'poster', 'background', 'cite', 'srcset'];

/**
 * Where a README's relative links and images point while it is rendered (set by renderMarkdown for
 * the one synchronous sanitize call): links to the repository's file pages, images to its files.
 */
let relativeTo = null;
/** A path relative to the repository's root ('config.json', './docs/a.md', '../x'), or null for other URLs. */
function repoRelative(value) {
  const v = value.trim();
  if (!v || /^[a-z][a-z0-9+.-]*:/i.test(v) || v.startsWith('/') || v.startsWith('#') || v.startsWith('?')) return null;
  let u;
  try {
    u = new URL(v, 'https://repo.invalid/');
    return { path: decodeURIComponent(u.pathname.slice(1)), rest: u.search + u.hash };
  } catch {
    return null; // malformed: left as the check above left it
  }
}

DOMPurify.addHook('afterSanitizeAttributes', (node) => {
  for (const attr of URL_ATTRS) {
    if (!node.hasAttribute(attr)) continue;
    const ok = attr === 'href' ? safeUrl(node.getAttribute(attr)) : attr === 'src' && node.nodeName === 'IMG' ? safeUrl(node.getAttribute(attr), true) : false;
    if (!ok) node.removeAttribute(attr);
  }
  // Checked above; the rewritten URLs are paths on this hub.
  if (relativeTo && node.nodeName === 'A' && node.hasAttribute('href')) {
    const r = repoRelative(node.getAttribute('href'));
    if (r && r.path) node.setAttribute('href', relativeTo.link(r.path) + r.rest);
  }
  if (relativeTo && node.nodeName === 'IMG' && node.hasAttribute('src')) {
    const r = repoRelative(node.getAttribute('src'));
    if (r && r.path) node.setAttribute('src', relativeTo.image(r.path));
  }
  if (node.nodeName === 'A' && node.hasAttribute('href')) node.setAttribute('rel', 'noopener noreferrer nofollow');
});

/** What marked produces from markdown (raw HTML is escaped above). */
const MARKDOWN = {
  ALLOWED_TAGS: ['a', 'p', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'em', 'strong', 'del', 'code', 'pre', 'blockquote', 'ul', 'ol', 'li', 'hr', 'br', 'img', 'table', 'thead', 'tbody', 'tr', 'th', 'td', 'input', 'span'],
  // No class, id, name or style: a README cannot dress up as the UI's own elements or clobber globals.
  ALLOWED_ATTR: ['href', 'title', 'src', 'alt', 'align', 'type', 'checked', 'disabled', 'start'],
  ALLOW_DATA_ATTR: false,
  ALLOW_ARIA_ATTR: false,
};

/**
 * Markdown as sanitized HTML. `base` ({ link(path), image(path) }): where relative links and images
 * of a repository's README lead (its file pages and its files, as on the Hub).
 */
export function renderMarkdown(text, base = null) {
  relativeTo = base;
  try {
    return DOMPurify.sanitize(marked.parse(text), MARKDOWN);
  } finally {
    relativeTo = null;
  }
}

/** highlight.js output: spans with classes only. */
export function sanitizeHighlighted(html) {
  return DOMPurify.sanitize(html, { ALLOWED_TAGS: ['span'], ALLOWED_ATTR: ['class'] });
}
