import { parseDocument } from 'yaml';
import type { RepoType } from '../db/types.js';
import type { PushCheck, PushContext } from '../git/receive-pack.js';
import { ZERO_OID } from '../git/objects/types.js';
import type { RepoObjects } from '../git/store/repo-objects.js';

/**
 * README.md front matter (the repo card's metadata), checked when a commit or a push changes it,
 * as the Hub does: YAML that does not parse, or known fields of the wrong shape, refuse the write;
 * a README without metadata is only a warning.
 */
export interface MetadataReport {
  errors: { message: string }[];
  warnings: { message: string }[];
}

/** A README.md larger than this is not read for its metadata (nor validated). */
export const README_MAX_BYTES = 1 << 20;
/** Problems one report lists at most. */
const MAX_PROBLEMS = 20;

const FRONT_MATTER = /^---\r?\n([\s\S]*?)\r?\n?^---[ \t]*(?:\r?\n|$)/m;

type Shape = 'string' | 'strings' | 'list' | 'bool-or-map' | 'model-index';

/** Fields of the repo card whose shape the Hub checks (a single string or a list of strings where it takes either). */
const FIELDS: Record<string, Shape> = {
  license: 'strings',
  license_name: 'string',
  license_link: 'string',
  language: 'strings',
  tags: 'strings',
  datasets: 'strings',
  metrics: 'strings',
  base_model: 'strings',
  library_name: 'string',
  pipeline_tag: 'string',
  thumbnail: 'string',
  pretty_name: 'string',
  task_categories: 'strings',
  task_ids: 'strings',
  size_categories: 'strings',
  widget: 'list',
  inference: 'bool-or-map',
  'model-index': 'model-index',
};

const isStr = (v: unknown) => typeof v === 'string';
const isMap = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);

function checkField(key: string, shape: Shape, v: unknown): string | null {
  if (v === null || v === undefined) return null;
  switch (shape) {
    case 'string':
      return isStr(v) ? null : `"${key}" must be a string`;
    case 'strings':
      return isStr(v) || (Array.isArray(v) && v.every(isStr)) ? null : `"${key}" must be a string or an array of strings`;
    case 'list':
      return Array.isArray(v) ? null : `"${key}" must be an array`;
    case 'bool-or-map':
      return typeof v === 'boolean' || isMap(v) ? null : `"${key}" must be a boolean or an object`;
    case 'model-index': {
      if (!Array.isArray(v)) return `"model-index" must be an array`;
      for (const [i, m] of v.entries()) {
        if (!isMap(m)) return `"model-index[${i}]" must be an object`;
        if (!isStr(m.name)) return `"model-index[${i}].name" is required and must be a string`;
        if (!Array.isArray(m.results)) return `"model-index[${i}].results" is required and must be an array`;
        for (const [j, r] of m.results.entries()) {
          if (!isMap(r)) return `"model-index[${i}].results[${j}]" must be an object`;
          if (!isMap(r.task) || !isStr(r.task.type)) return `"model-index[${i}].results[${j}].task.type" is required and must be a string`;
          if (r.metrics !== undefined && !Array.isArray(r.metrics)) return `"model-index[${i}].results[${j}].metrics" must be an array`;
        }
      }
      return null;
    }
  }
}

/** Validate a README's text (`repoType` kept for the Hub's signature; the fields checked are the same). */
export function validateReadme(text: string, _repoType: RepoType = 'model'): MetadataReport {
  const report: MetadataReport = { errors: [], warnings: [] };
  const m = FRONT_MATTER.exec(text);
  if (!m || m.index !== 0 || !m[1]!.trim()) {
    report.warnings.push({ message: 'Empty or missing yaml metadata in repo card' });
    return report;
  }
  const doc = parseDocument(m[1]!, { uniqueKeys: true });
  if (doc.errors.length) {
    for (const e of doc.errors.slice(0, MAX_PROBLEMS)) report.errors.push({ message: `Invalid YAML in README.md metadata: ${e.message.split('\n')[0]}` });
    return report;
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    report.errors.push({ message: `Invalid YAML in README.md metadata: ${(err as Error).message}` });
    return report;
  }
  if (data === null || data === undefined) {
    report.warnings.push({ message: 'Empty or missing yaml metadata in repo card' });
    return report;
  }
  if (!isMap(data)) {
    report.errors.push({ message: 'README.md metadata must be a YAML mapping (key: value)' });
    return report;
  }
  for (const [key, shape] of Object.entries(FIELDS)) {
    const problem = checkField(key, shape, data[key]);
    if (problem && report.errors.length < MAX_PROBLEMS) report.errors.push({ message: problem });
  }
  return report;
}

/** The one-line reason a write with invalid README metadata is refused. */
export const metadataRefusal = (report: MetadataReport) => `Invalid metadata in README.md.\n${report.errors.map((e) => `- ${e.message}`).join('\n')}`;

/** The root README.md blob of a commit, or null. */
function readmeBlob(objects: RepoObjects, commitOid: string): string | null {
  if (!objects.has(commitOid) || objects.type(commitOid) !== 'commit') return null;
  const e = objects.tree(objects.commit(commitOid).tree).find((x) => x.name === 'README.md');
  return e && e.mode !== '40000' && e.mode !== '160000' ? e.oid : null;
}

/**
 * The push-side rule: a branch may not move to a commit whose root README.md changed (from the
 * branch's old tip) and has invalid metadata. git shows the reason as the remote's rejection.
 */
export function createReadmePushCheck(): PushCheck {
  return () => ({
    async check(ctx: PushContext) {
      const refused = new Map<string, string>();
      for (const c of ctx.commands) {
        if (c.newOid === ZERO_OID || !c.ref.startsWith('refs/heads/')) continue;
        const blob = readmeBlob(ctx.objects, c.newOid);
        if (!blob || (c.oldOid !== ZERO_OID && readmeBlob(ctx.objects, c.oldOid) === blob)) continue;
        if (ctx.objects.size(blob) > README_MAX_BYTES) continue;
        const report = validateReadme(ctx.objects.read(blob).data.toString('utf8'));
        if (report.errors.length) refused.set(c.ref, `Sorry, your push was rejected during YAML metadata verification: ${report.errors.map((e) => e.message).join('; ')}`);
      }
      return refused;
    },
  });
}
