// The UI talks to the same HTTP API as every client; the session cookie authenticates it and the
// custom header (which cross-site forms cannot send) marks the request as the UI's own.
const UI = { 'X-Packhub-UI': '1' };

async function check(res) {
  if (res.ok) return res;
  let message = res.headers.get('x-error-message') || res.statusText;
  try {
    const body = await res.json();
    message = body?.error?.message || body?.error || message;
  } catch {}
  throw new Error(`${res.status}: ${message}`);
}

export async function get(path) {
  return (await check(await fetch(path, { headers: UI }))).json();
}
export async function text(path) {
  return (await check(await fetch(path, { headers: UI }))).text();
}
export async function send(method, path, body) {
  const res = await fetch(path, { method, headers: { ...UI, 'Content-Type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  return (await check(res)).json();
}

/** Commit files through the Hub API (NDJSON), reporting upload progress. */
export function commitFiles(repo, files, title, onProgress) {
  return new Promise(async (resolve, reject) => {
    const lines = [JSON.stringify({ key: 'header', value: { summary: title } })];
    for (const f of files) {
      const bytes = new Uint8Array(await f.arrayBuffer());
      let bin = '';
      for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
      lines.push(JSON.stringify({ key: 'file', value: { path: f.name, content: btoa(bin), encoding: 'base64' } }));
    }
    const xhr = new XMLHttpRequest();
    xhr.open('POST', `/api/models/${repo}/commit/main`);
    xhr.setRequestHeader('Content-Type', 'application/x-ndjson');
    xhr.setRequestHeader('X-Packhub-UI', '1');
    xhr.upload.onprogress = (e) => e.lengthComputable && onProgress(e.loaded / e.total);
    xhr.onload = () => (xhr.status < 300 ? resolve(JSON.parse(xhr.responseText)) : reject(new Error(`${xhr.status}: ${xhr.getResponseHeader('x-error-message') || xhr.statusText}`)));
    xhr.onerror = () => reject(new Error('network error'));
    xhr.send(lines.join('\n'));
  });
}
