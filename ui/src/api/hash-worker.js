// SHA-256 of a file for LFS uploads, in a worker: hash-wasm compiles WebAssembly, which the page's
// Content-Security-Policy does not allow; this worker's own policy (sent with its script) does.
// Reads the file in 4 MiB slices (never held whole) and reports progress.
import { createSHA256 } from 'hash-wasm';

self.onmessage = async (e) => {
  try {
    const file = e.data;
    const h = await createSHA256();
    const step = 4 << 20;
    for (let at = 0; at < file.size; at += step) {
      h.update(new Uint8Array(await file.slice(at, at + step).arrayBuffer()));
      self.postMessage({ progress: Math.min(at + step, file.size) });
    }
    self.postMessage({ hex: h.digest('hex') });
  } catch (err) {
    self.postMessage({ error: String(err?.message ?? err) });
  }
};
