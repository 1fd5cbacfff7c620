// Server-Sent Events read with fetch: the session cookie counts only with the UI's own header, which
// EventSource cannot send. Reconnects after the server's `retry:` delay until stopped.
import { UI_HEADERS } from './http.js';

/**
 * Follows an event stream; onEvent(data) gets each event's data parsed as JSON, onState(connected)
 * tells whether the stream is open. Returns stop().
 */
export function follow(path, { onEvent, onState = () => {}, onEnd = null }) {
  const abort = new AbortController();
  let retryMs = 2000;
  let stopped = false;
  async function run() {
    while (!stopped) {
      try {
        const res = await fetch(path, { headers: { ...UI_HEADERS, Accept: 'text/event-stream' }, signal: abort.signal });
        if (!res.ok || !res.body) throw new Error(`stream answered ${res.status}`);
        onState(true);
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buf = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buf += value;
          // Bounded: an event larger than 1 MiB is not one this page can use.
          if (buf.length > 1 << 20) throw new Error('event too large');
          let cut;
          while ((cut = buf.indexOf('\n\n')) >= 0) {
            const block = buf.slice(0, cut);
            buf = buf.slice(cut + 2);
            let data = '';
            for (const line of block.split('\n')) {
              if (line.startsWith('data:')) data += (data ? '\n' : '') + line.slice(5).replace(/^ /, '');
              else if (line.startsWith('retry:')) retryMs = Math.min(60_000, Math.max(500, Number(line.slice(6)) || retryMs));
            }
            if (!data) continue;
            try {
              onEvent(JSON.parse(data));
            } catch {}
          }
        }
        onState(false);
        if (onEnd) {
          stopped = true;
          onEnd();
          return;
        }
      } catch (e) {
        if (stopped || e?.name === 'AbortError') return;
        onState(false);
      }
      await new Promise((r) => setTimeout(r, retryMs));
    }
  }
  run();
  return () => {
    stopped = true;
    abort.abort();
  };
}
