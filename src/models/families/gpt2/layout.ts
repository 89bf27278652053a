// GPT-2's weights file against the decoder-only model's parameters. GPT-2's linear layers are
// Conv1D modules that store W as [in, out] (y = x W + b), the transpose of a Linear's [out, in];
// its attention projects q, k and v with one fused c_attn [D, 3D] (columns q | k | v). Loading
// transposes and splits them into maskwise's q_proj, k_proj, v_proj, out_proj, fc1 and fc2;
// saving joins and transposes them back, so a file written back is transformers' own.
import type { ModelConfig } from "../../config.js";
import type { FileLayout, StoredTensor } from "../file-layout.js";

/** [rows, cols] -> [cols, rows] */
function transpose(t: StoredTensor): StoredTensor {
  const [rows, cols] = t.shape;
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++)
    for (let c = 0; c < cols; c++) out[c * rows + r] = t.data[r * cols + c];
  return { shape: [cols, rows], data: out };
}

/** Columns [from, from + n) of a [rows, cols] matrix, or elements of a vector. */
function columns(t: StoredTensor, from: number, n: number): StoredTensor {
  if (t.shape.length === 1)
    return { shape: [n], data: Float32Array.from({ length: n }, (_, i) => t.data[from + i]) };
  const [rows, cols] = t.shape;
  const out = new Float32Array(rows * n);
  for (let r = 0; r < rows; r++)
    for (let c = 0; c < n; c++) out[r * n + c] = t.data[r * cols + from + c];
  return { shape: [rows, n], data: out };
}

/** Matrices [rows, n_i] (or vectors) side by side. */
function joinColumns(parts: StoredTensor[]): StoredTensor {
  if (parts[0].shape.length === 1) {
    const out = new Float32Array(parts.reduce((s, p) => s + p.shape[0], 0));
    let at = 0;
    for (const p of parts) {
      for (let i = 0; i < p.shape[0]; i++) out[at + i] = p.data[i];
      at += p.shape[0];
    }
    return { shape: [out.length], data: out };
  }
  const rows = parts[0].shape[0];
  const cols = parts.reduce((s, p) => s + p.shape[1], 0);
  const out = new Float32Array(rows * cols);
  let c0 = 0;
  for (const p of parts) {
    const n = p.shape[1];
    for (let r = 0; r < rows; r++)
      for (let c = 0; c < n; c++) out[r * cols + c0 + c] = p.data[r * n + c];
    c0 += n;
  }
  return { shape: [rows, cols], data: out };
}

const CONV1D = /^transformer\.h\.\d+\.(attn\.c_proj|mlp\.c_fc|mlp\.c_proj)\.weight$/;
const C_ATTN = /^(transformer\.h\.\d+\.attn)\.c_attn\.(weight|bias)$/;
const QKV = /^(transformer\.h\.\d+\.attn)\.([qkv])\.(weight|bias)$/;

export function gpt2Layout(config: ModelConfig): FileLayout {
  const D = config.d_model;
  const layer = "transformer.h.*";
  const to = "model.decoder.layers.*";
  return {
    tieGroups: config.tie_word_embeddings
      ? [["model.decoder.embed_tokens.weight", "lm_head.weight"]]
      : [],
    renames: [
      ["transformer.wte", "model.decoder.embed_tokens"],
      ["transformer.wpe", "model.decoder.embed_positions"],
      ["transformer.ln_f", "model.decoder.layer_norm"],
      [`${layer}.ln_1`, `${to}.self_attn_layer_norm`],
      [`${layer}.attn.q`, `${to}.self_attn.q_proj`],
      [`${layer}.attn.k`, `${to}.self_attn.k_proj`],
      [`${layer}.attn.v`, `${to}.self_attn.v_proj`],
      [`${layer}.attn.c_proj`, `${to}.self_attn.out_proj`],
      [`${layer}.ln_2`, `${to}.final_layer_norm`],
      [`${layer}.mlp.c_fc`, `${to}.fc1`],
      [`${layer}.mlp.c_proj`, `${to}.fc2`],
    ],
    // Older files carry the causal mask as buffers (attn.bias, attn.masked_bias).
    ignore: [/^transformer\.h\.\d+\.attn\.(masked_)?bias$/],
    order: "transformers",
    reshape: {
      load(tensors) {
        const out = new Map<string, StoredTensor>();
        for (const [name, t] of tensors) {
          const fused = C_ATTN.exec(name);
          if (fused) {
            // weight [D, 3D] (in, out): q | k | v columns, each transposed to [out, in].
            ["q", "k", "v"].forEach((p, i) => {
              const part = columns(t, i * D, D);
              out.set(
                `${fused[1]}.${p}.${fused[2]}`,
                fused[2] === "weight" ? transpose(part) : part,
              );
            });
          } else out.set(name, CONV1D.test(name) ? transpose(t) : t);
        }
        return out;
      },
      save(tensors) {
        const out = new Map<string, StoredTensor>();
        for (const [name, t] of tensors) {
          const part = QKV.exec(name);
          if (!part) {
            out.set(name, CONV1D.test(name) ? transpose(t) : t);
            continue;
          }
          // Each layer's q, k and v join into one c_attn, written when its q comes by.
          const [, attn, which, kind] = part;
          if (which !== "q") continue;
          const get = (p: string) => tensors.get(`${attn}.${p}.${kind}`) as StoredTensor;
          const parts = ["q", "k", "v"].map((p) =>
            kind === "weight" ? transpose(get(p)) : get(p),
          );
          out.set(`${attn}.c_attn.${kind}`, joinColumns(parts));
        }
        return out;
      },
    },
  };
}
