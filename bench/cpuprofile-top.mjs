// The functions that took the most CPU time in a V8 .cpuprofile (self time, and self time by file),
// over the window between the first and the last sample in a function named MARK (default: all).
//   node bench/cpuprofile-top.mjs FILE [N] [MARK]
import fs from 'node:fs';

const [file, n = '25', mark] = process.argv.slice(2);
const prof = JSON.parse(fs.readFileSync(file, 'utf8'));
const byId = new Map(prof.nodes.map((node) => [node.id, node]));
const self = new Map();
const dt = prof.timeDeltas;
let from = 0;
let to = prof.samples.length;
if (mark) {
  const hits = prof.samples.flatMap((id, i) => (byId.get(id).callFrame.functionName === mark ? [i] : []));
  if (hits.length) [from, to] = [hits[0], hits.at(-1) + 1];
  const t = dt.slice(from, to).reduce((a, b) => a + b, 0);
  console.log(`window: samples ${from}-${to} (${(t / 1e6).toFixed(2)} s) around '${mark}'`);
}
for (let i = from; i < to; i++) {
  const id = prof.samples[i];
  self.set(id, (self.get(id) ?? 0) + (dt[i] ?? 0));
}
const total = [...self.values()].reduce((a, b) => a + b, 0);
const fnTime = new Map();
const fileTime = new Map();
for (const [id, us] of self) {
  const { callFrame: f } = byId.get(id);
  const short = f.url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*?\/(src|bench|test)\//, '$1/');
  const key = `${f.functionName || '(anonymous)'} ${short}:${f.lineNumber + 1}`;
  fnTime.set(key, (fnTime.get(key) ?? 0) + us);
  const where = short || `(${f.functionName})`;
  fileTime.set(where, (fileTime.get(where) ?? 0) + us);
}
const show = (title, m) => {
  console.log(`${title} (of ${(total / 1e6).toFixed(2)} s sampled)`);
  for (const [k, us] of [...m].sort((a, b) => b[1] - a[1]).slice(0, Number(n))) console.log(`${(us / 1e6).toFixed(2).padStart(7)} s ${((100 * us) / total).toFixed(1).padStart(5)}%  ${k}`);
};
show('self time by function', fnTime);
show('self time by file', fileTime);
