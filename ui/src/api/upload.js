// Uploads from the browser: files become one commit on the branch shown, through the Hub API.
import { ApiError, UI_HEADERS, errorFrom, humanMessage, send } from './http.js';

/** An XHR (for its upload progress), resolving with the response text. */
function xhr(method, url, body, headers, onProgress) {
  return new Promise((resolve, reject) => {
    const x = new XMLHttpRequest();
    x.open(method, url);
    for (const [k, v] of Object.entries(headers)) x.setRequestHeader(k, v);
    if (onProgress) x.upload.onprogress = (e) => e.lengthComputable && onProgress(e.loaded);
    x.onload = () => {
      if (x.status < 300) return resolve(x.responseText);
      let said = x.getResponseHeader('x-error-message') || '';
      try {
        const body = JSON.parse(x.responseText);
        said = body?.error?.message || (typeof body?.error === 'string' ? body.error : '') || body?.message || said;
      } catch {}
      try { said = decodeURIComponent(said); } catch {}
      const code = x.getResponseHeader('x-error-code') || '';
      const { message, signIn } = humanMessage(x.status, code, said);
      reject(new ApiError(message, { status: x.status, code, signIn }));
    };
    x.onerror = () => reject(new ApiError('The upload was cut off: the hub could not be reached. Check your connection and try again.'));
    x.send(body);
  });
}

/** SHA-256 of a file, computed in a worker (ui/src/hash-worker.js) that reads it in slices. */
function sha256(file, onProgress) {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./hash-worker.js', import.meta.url), { type: 'module' });
    const done = (fn, v) => { worker.terminate(); fn(v); };
    worker.onmessage = (e) => {
      if (e.data.progress !== undefined) onProgress(e.data.progress);
      else if (e.data.hex) done(resolve, e.data.hex);
      else done(reject, new Error(`hashing ${file.name} failed: ${e.data.error}`));
    };
    worker.onerror = (e) => done(reject, new Error(`hashing ${file.name} failed: ${e.message || 'worker error'}`));
    worker.postMessage(file);
  });
}

const base64 = async (blob) => {
  const bytes = new Uint8Array(await blob.arrayBuffer());
  let bin = '';
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(bin);
};

/**
 * Commits files through the Hub API, as huggingface_hub does: the server says per file (preupload)
 * which go through Git LFS; those are hashed here, uploaded through the LFS batch API (PUT with
 * progress, then verify), and committed as pointers; the others travel inline in the NDJSON commit.
 * `onProgress(fraction)` covers hashing, uploading and the commit.
 */
export async function commitFiles(kind, repo, files, title, onProgress, { rev = 'main', folder = '' } = {}) {
  const R = encodeURIComponent(rev);
  const at = (f) => (folder ? `${folder.replace(/\/+$/, '')}/${f.name}` : f.name);
  const total = files.reduce((n, f) => n + f.size, 0) * 2 || 1; // hashing (or reading) and sending
  let done = 0;
  const report = (n) => onProgress(Math.min(0.99, (done + n) / total));
  const pre = await send('POST', `/api/${kind}/${repo}/preupload/${R}`, {
    files: await Promise.all(files.map(async (f) => ({ path: at(f), size: f.size, sample: await base64(f.slice(0, 512)) }))),
  });
  const lfs = new Set(pre.files.filter((f) => f.uploadMode === 'lfs').map((f) => f.path));
  const lines = [JSON.stringify({ key: 'header', value: { summary: title } })];
  const prefix = kind === 'models' ? '' : `/${kind}`;
  for (const f of files) {
    if (!lfs.has(at(f))) {
      lines.push(JSON.stringify({ key: 'file', value: { path: at(f), content: await base64(f), encoding: 'base64' } }));
      done += f.size;
      report(0);
      continue;
    }
    const oid = await sha256(f, report);
    done += f.size;
    const batch = await (
      await fetch(`${prefix}/${repo}.git/info/lfs/objects/batch`, {
        method: 'POST',
        headers: { ...UI_HEADERS, Accept: 'application/vnd.git-lfs+json', 'Content-Type': 'application/vnd.git-lfs+json' },
        body: JSON.stringify({ operation: 'upload', transfers: ['basic'], objects: [{ oid, size: f.size }], hash_algo: 'sha256' }),
      }).then(async (r) => { if (!r.ok) throw await errorFrom(r); return r; })
    ).json();
    const obj = batch.objects[0];
    if (obj.error) throw new ApiError(`${f.name} could not be uploaded: ${obj.error.message}`);
    const up = obj.actions?.upload;
    if (up) {
      await xhr('PUT', up.href, f, { 'Content-Type': 'application/octet-stream', ...(up.header ?? {}) }, report);
      const verify = obj.actions.verify;
      if (verify) await xhr('POST', verify.href, JSON.stringify({ oid, size: f.size }), { 'Content-Type': 'application/vnd.git-lfs+json', ...(verify.header ?? {}) });
    }
    done += f.size;
    report(0);
    lines.push(JSON.stringify({ key: 'lfsFile', value: { path: at(f), algo: 'sha256', oid, size: f.size } }));
  }
  for (const f of files) if (!lfs.has(at(f))) done += f.size; // inline ones are sent with the commit
  const sent = done;
  const result = await xhr('POST', `/api/${kind}/${repo}/commit/${R}`, lines.join('\n'), { ...UI_HEADERS, 'Content-Type': 'application/x-ndjson' }, (n) => onProgress(Math.min(0.99, (sent + n) / (total + n))));
  onProgress(1);
  return JSON.parse(result);
}
