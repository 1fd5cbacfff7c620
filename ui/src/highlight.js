// Syntax highlighting of text files by extension: highlight.js core with the languages ML repos
// hold most (its output escapes the text; nothing in the file is run).
import hljs from 'highlight.js/lib/core';
import bash from 'highlight.js/lib/languages/bash';
import cpp from 'highlight.js/lib/languages/cpp';
import css from 'highlight.js/lib/languages/css';
import go from 'highlight.js/lib/languages/go';
import ini from 'highlight.js/lib/languages/ini';
import javascript from 'highlight.js/lib/languages/javascript';
import json from 'highlight.js/lib/languages/json';
import markdown from 'highlight.js/lib/languages/markdown';
import python from 'highlight.js/lib/languages/python';
import rust from 'highlight.js/lib/languages/rust';
import typescript from 'highlight.js/lib/languages/typescript';
import xml from 'highlight.js/lib/languages/xml';
import yaml from 'highlight.js/lib/languages/yaml';
import 'highlight.js/styles/github.css';

for (const [name, lang] of Object.entries({ bash, cpp, css, go, ini, javascript, json, markdown, python, rust, typescript, xml, yaml })) hljs.registerLanguage(name, lang);

const BY_EXTENSION = {
  py: 'python', json: 'json', jsonl: 'json', yaml: 'yaml', yml: 'yaml', md: 'markdown', js: 'javascript', mjs: 'javascript',
  ts: 'typescript', sh: 'bash', toml: 'ini', cfg: 'ini', ini: 'ini', html: 'xml', xml: 'xml', css: 'css', c: 'cpp', h: 'cpp',
  cc: 'cpp', cpp: 'cpp', cu: 'cpp', rs: 'rust', go: 'go',
};

/** The text as highlighted HTML, or null when its extension names no known language. */
export function highlight(path, text) {
  const lang = BY_EXTENSION[path.split('.').pop().toLowerCase()];
  return lang ? hljs.highlight(text, { language: lang }).value : null;
}
