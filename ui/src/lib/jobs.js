// Jobs as the operator reads them: what a kind means, how far a job is, how fast it goes.

const KINDS = { 'mirror.sync': 'Mirror sync', 'mirror.download': 'Mirror download', 'import.scan': 'Local import', noop: 'Test job' };
/** Kinds whose progress counts something other than bytes (noop: milliseconds). */
export const countsBytes = (kind) => kind !== 'noop';
export const kindLabel = (kind) => KINDS[kind] ?? kind;
export const JOB_STATES = ['queued', 'running', 'completed', 'failed', 'cancelled'];
export const isFinished = (state) => state === 'completed' || state === 'failed' || state === 'cancelled';

/** How far a job is (0..1), or null when it does not know its total. */
export function fraction(job) {
  if (job.state === 'completed') return 1;
  if (job.bytesTotal) return Math.min(1, job.bytesDone / job.bytesTotal);
  if (job.filesTotal) return Math.min(1, job.filesDone / job.filesTotal);
  return null;
}

/** The repository page of a job's repository label ('model:ns/name' or 'ns/name'). */
export function repoHref(label) {
  if (!label) return null;
  const m = /^(?:(model|dataset|space):)?([^/:]+\/[^/]+)$/.exec(label);
  if (!m) return null;
  return !m[1] || m[1] === 'model' ? `/${m[2]}` : `/${m[1]}s/${m[2]}`;
}

/**
 * Bytes per second of running jobs, from the progress each event brings: the bytes moved over the
 * last `windowMs` (at least two samples), else the average since the job started.
 */
export function createRates(windowMs = 10_000) {
  const samples = new Map();
  return {
    add(job) {
      const now = Date.now();
      const list = samples.get(job.id) ?? [];
      const last = list[list.length - 1];
      if (last && job.bytesDone < last.bytes) list.length = 0;
      if (!last || last.bytes !== job.bytesDone) list.push({ t: now, bytes: job.bytesDone });
      while (list.length > 2 && now - list[0].t > windowMs) list.shift();
      samples.set(job.id, list);
      if (isFinished(job.state)) samples.delete(job.id);
    },
    rate(job) {
      if (job.state !== 'running') return null;
      const list = samples.get(job.id) ?? [];
      if (list.length >= 2) {
        const a = list[0];
        const b = list[list.length - 1];
        if (b.t > a.t) return ((b.bytes - a.bytes) * 1000) / (b.t - a.t);
      }
      if (job.startedAt && job.bytesDone > 0) {
        const s = (Date.now() - new Date(job.startedAt).getTime()) / 1000;
        if (s > 0.5) return job.bytesDone / s;
      }
      return null;
    },
  };
}

/** Seconds left at this rate, or null. */
export function eta(job, rate) {
  if (!rate || !job.bytesTotal || job.bytesTotal <= job.bytesDone) return null;
  return (job.bytesTotal - job.bytesDone) / rate;
}

export function duration(seconds) {
  if (seconds == null || !Number.isFinite(seconds)) return '';
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}
