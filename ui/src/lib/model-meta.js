// What a model page says about a model from its files: config.json / model_index.json, the headers
// of its safetensors files (read with Range requests: 8 bytes of length, then the JSON header,
// never the weights), and the memory needed to load it.
import { ApiError, UI_HEADERS, errorFrom } from '../api/http.js';

/** Headers larger than this are not read (the format's own readers refuse far smaller ones). */
export const MAX_HEADER_BYTES = 100 * 1024 * 1024;
/** Files whose headers one page reads at most (sharded checkpoints, diffusers pipelines). */
export const MAX_FILES = 64;

const num = (v) => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : null);
const first = (...vs) => vs.find((v) => v !== undefined && v !== null);

/** Decoder-only transformers with a gated MLP (three projections): llama and its kin. */
const GATED = new Set(['llama', 'mistral', 'mixtral', 'qwen2', 'qwen2_moe', 'qwen3', 'qwen3_moe', 'gemma', 'gemma2', 'gemma3_text', 'phi3', 'olmo', 'olmo2', 'granite', 'cohere', 'deepseek', 'internlm2', 'yi', 'starcoder2_gated']);

/**
 * The parameter count a config implies, for the families whose layout is known, with the formula
 * used; null when it is not derivable.
 */
export function paramsFromConfig(c) {
  const type = String(c.model_type ?? '').toLowerCase();
  if (type === 'gpt2') {
    const E = num(c.n_embd), L = num(c.n_layer), V = num(c.vocab_size), P = num(c.n_positions) ?? 1024;
    if (!E || !L || !V) return null;
    return { params: V * E + P * E + L * (12 * E * E + 13 * E) + 2 * E, formula: 'V·E + P·E + L·(12·E² + 13·E) + 2·E (GPT-2 layout, tied output)' };
  }
  const H = num(c.hidden_size), L = num(c.num_hidden_layers), V = num(c.vocab_size), I = num(c.intermediate_size), nH = num(c.num_attention_heads);
  if (!H || !L || !V || !I || !nH) return null;
  if (!GATED.has(type) && c.hidden_act !== 'silu') return null;
  const nKV = num(c.num_key_value_heads) ?? nH;
  const hd = num(c.head_dim) ?? H / nH;
  const experts = num(c.num_local_experts) ?? num(c.num_experts) ?? 1;
  const moeI = experts > 1 ? num(c.moe_intermediate_size) ?? I : I;
  const attn = 2 * H * nH * hd + 2 * H * nKV * hd;
  const mlp = experts > 1 ? experts * 3 * H * moeI + H * experts : 3 * H * I;
  const tied = c.tie_word_embeddings === true;
  const params = V * H + L * (attn + mlp + 2 * H) + H + (tied ? 0 : V * H);
  const mlpText = experts > 1 ? `${experts}·3·H·I + H·${experts}` : '3·H·I';
  return { params, formula: `V·H${tied ? '' : ' ×2 (input and output embeddings)'} + L·(2·H·heads·d + 2·H·kv_heads·d + ${mlpText} + 2·H) + H` };
}

/** The facts of a transformers config.json worth showing. */
export function summarizeConfig(c) {
  if (!c || typeof c !== 'object' || Array.isArray(c)) return null;
  const text = c.text_config && typeof c.text_config === 'object' ? c.text_config : null;
  const src = text && !num(c.hidden_size) ? { ...text, model_type: text.model_type ?? c.model_type } : c;
  const derived = paramsFromConfig(src);
  const out = {
    architecture: Array.isArray(c.architectures) && c.architectures.length ? c.architectures.join(', ') : null,
    modelType: typeof c.model_type === 'string' ? c.model_type : null,
    dtype: first(c.torch_dtype, c.dtype, src.torch_dtype) ?? null,
    contextLength: num(first(src.max_position_embeddings, src.n_positions, src.max_seq_len, src.seq_length, src.n_ctx, src.max_sequence_length)),
    layers: num(first(src.num_hidden_layers, src.n_layer, src.num_layers)),
    hiddenSize: num(first(src.hidden_size, src.n_embd, src.d_model)),
    heads: num(first(src.num_attention_heads, src.n_head)),
    kvHeads: num(src.num_key_value_heads),
    vocabSize: num(src.vocab_size),
    experts: num(first(src.num_local_experts, src.num_experts)),
    params: derived?.params ?? null,
    paramsFormula: derived?.formula ?? null,
    quantization: c.quantization_config && typeof c.quantization_config === 'object' ? String(c.quantization_config.quant_method ?? 'yes') : null,
  };
  // A config that names none of these (not a transformers config) says nothing worth a table.
  return Object.entries(out).some(([k, v]) => k !== 'paramsFormula' && v !== null) ? out : null;
}

/** A diffusers model_index.json: the pipeline class and its components. */
export function summarizeModelIndex(m) {
  if (!m || typeof m !== 'object' || Array.isArray(m)) return null;
  const components = Object.entries(m)
    .filter(([k, v]) => !k.startsWith('_') && Array.isArray(v) && v.length === 2)
    .map(([name, [library, cls]]) => ({ name, library: library ?? '', cls: cls ?? '' }));
  return { className: typeof m._class_name === 'string' ? m._class_name : null, version: typeof m._diffusers_version === 'string' ? m._diffusers_version : null, components };
}

/**
 * `length` bytes from `start` of a file, with a Range request. A server that ignores the Range
 * sends the file from its start: only what is needed is read, then the download is stopped.
 */
async function readBytes(url, start, length) {
  let res;
  try {
    res = await fetch(url, { headers: { ...UI_HEADERS, Range: `bytes=${start}-${start + length - 1}` } });
  } catch {
    throw new ApiError('The file could not be reached.');
  }
  if (!res.ok) throw await errorFrom(res);
  let skip = res.status === 206 ? 0 : start;
  const out = new Uint8Array(length);
  let got = 0;
  const reader = res.body.getReader();
  try {
    while (got < length) {
      const { done, value } = await reader.read();
      if (done) break;
      let chunk = value;
      if (skip > 0) {
        const s = Math.min(skip, chunk.length);
        skip -= s;
        chunk = chunk.subarray(s);
      }
      const take = Math.min(chunk.length, length - got);
      out.set(chunk.subarray(0, take), got);
      got += take;
    }
  } finally {
    reader.cancel().catch(() => undefined);
  }
  if (got < length) throw new ApiError('The file ends before its header does: it is not a safetensors file.');
  return out;
}

const ELEMENT_BYTES = { F64: 8, I64: 8, U64: 8, F32: 4, I32: 4, U32: 4, F16: 2, BF16: 2, I16: 2, U16: 2, F8_E4M3: 1, F8_E5M2: 1, I8: 1, U8: 1, BOOL: 1 };

/** The summary of a parsed safetensors header: tensors, parameters, per dtype. */
export function summarizeHeader(header) {
  if (!header || typeof header !== 'object' || Array.isArray(header)) throw new ApiError('The safetensors header is not a JSON object.');
  const dtypes = {};
  let tensors = 0;
  let params = 0;
  let bytes = 0;
  for (const [name, t] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    if (!t || typeof t.dtype !== 'string' || !Array.isArray(t.shape) || !t.shape.every((d) => Number.isInteger(d) && d >= 0)) {
      throw new ApiError(`The safetensors header describes the tensor ${name} in a way that cannot be read.`);
    }
    const n = t.shape.reduce((a, b) => a * b, 1);
    tensors++;
    params += n;
    const d = (dtypes[t.dtype] ??= { tensors: 0, params: 0 });
    d.tensors++;
    d.params += n;
    if (Array.isArray(t.data_offsets) && t.data_offsets.length === 2) bytes += t.data_offsets[1] - t.data_offsets[0];
  }
  const meta = header.__metadata__ && typeof header.__metadata__ === 'object' ? header.__metadata__ : null;
  return { tensors, params, bytes, dtypes, metadata: meta };
}

/** Reads and summarizes the header of one safetensors file; refuses headers over MAX_HEADER_BYTES. */
export async function readSafetensorsHeader(url, fileSize = null) {
  const len8 = await readBytes(url, 0, 8);
  const n = new DataView(len8.buffer).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES)) throw new ApiError(`The header would be ${(Number(n) / (1 << 20)).toFixed(0)} MiB, more than the ${MAX_HEADER_BYTES >> 20} MiB this page reads: not read.`);
  const length = Number(n);
  if (length < 2 || (fileSize !== null && length + 8 > fileSize)) throw new ApiError('Its header length does not fit the file: it is not a safetensors file.');
  const bytes = await readBytes(url, 8, length);
  let header;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw new ApiError('Its header is not valid JSON: it is not a safetensors file.');
  }
  return { headerBytes: length, ...summarizeHeader(header) };
}

/** Adds per-file summaries up. */
export function combine(summaries) {
  const dtypes = {};
  let tensors = 0, params = 0, bytes = 0;
  for (const s of summaries) {
    tensors += s.tensors;
    params += s.params;
    bytes += s.bytes;
    for (const [k, v] of Object.entries(s.dtypes)) {
      const d = (dtypes[k] ??= { tensors: 0, params: 0 });
      d.tensors += v.tensors;
      d.params += v.params;
    }
  }
  return { tensors, params, bytes, dtypes };
}

/** What loading needs besides the weights: activations, a short KV cache, the runtime's buffers. */
export const OVERHEAD = 0.2;
export const PRECISIONS = [
  { name: 'fp16', bytes: 2 },
  { name: 'bf16', bytes: 2 },
  { name: 'int8', bytes: 1 },
  { name: 'int4', bytes: 0.5 },
];

/** Memory to load `params` parameters at each precision: weights, and weights × (1 + OVERHEAD). */
export function memoryEstimate(params) {
  return PRECISIONS.map((p) => ({ ...p, weights: params * p.bytes, total: params * p.bytes * (1 + OVERHEAD) }));
}

export { ELEMENT_BYTES };
