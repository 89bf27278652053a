// A model built to train from scratch keeps its seeded random weights bit for bit: the digests
// below are of the parameters (and bfloat16-held weights, and a fresh LoRA adapter) that each
// build produced before loading could skip the random draws (src/nn/load-build.ts). A change to
// the generator, to the order of the draws or to an initialiser changes a digest; a model built
// for loading must not reach the builds that train.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { type ModelConfig, PRESETS, resolveConfig } from "../../src/models/config.js";
import type { FamilyModel } from "../../src/models/family.js";
import { attachAdapter, newAdapterConfig } from "../../src/models/peft.js";
import { buildModel, resolveModelConfig } from "../../src/models/registry.js";
import { buildHeldBf16, Embedding, Linear } from "../../src/nn/layers.js";
import { HF_REF } from "../helpers/hf-ref.js";

/** SHA-256 over every parameter's name, shape and bytes, then every held weight's bits. */
export function weightsDigest(model: FamilyModel): string {
  const h = createHash("sha256");
  for (const [name, p] of model.namedParameters()) {
    h.update(`${name}:${p.shape.join("x")};`);
    h.update(new Uint8Array(p.f32.buffer, p.f32.byteOffset, p.f32.byteLength));
  }
  for (const [path, m] of model.namedModules()) {
    if (!(m instanceof Linear || m instanceof Embedding) || !m.weightBf16) continue;
    const bits = m.weightBf16;
    h.update(`${path}:bf16;`);
    h.update(new Uint8Array(bits.buffer, bits.byteOffset, bits.byteLength));
  }
  return h.digest("hex").slice(0, 32);
}

function hfConfig(name: string): ModelConfig {
  const path = join(HF_REF, name, "config.json");
  return resolveModelConfig(JSON.parse(readFileSync(path, "utf8")), path);
}

const own = (raw: Record<string, unknown>) =>
  resolveConfig({ ...PRESETS.tiny, vocab_size: 300, ...raw });

const CASES: [string, () => FamilyModel, string][] = [
  ["encoder-decoder", () => buildModel(own({}), 3), "88c73372acd70de10e36d93fb963611c"],
  [
    "encoder-decoder, learned positions, shared and untied",
    () =>
      buildModel(
        own({
          position_embedding: "learned",
          position_offset: 2,
          layernorm_embedding: true,
          share_embeddings: true,
          tie_word_embeddings: false,
          pad_token_id: 1,
        }),
        11,
      ),
    "eaf6b424abfe2afda87e0babf3d5729c",
  ],
  [
    "decoder-only",
    () => buildModel(own({ maskwise_arch: "decoder-only" }), 4),
    "04feb1405bb3ab66b7a88d002cf54939",
  ],
  [
    "encoder-only",
    () => buildModel(own({ maskwise_arch: "encoder-only", type_vocab_size: 2 }), 5),
    "cc68b9a343863e8f99a6262c51e966d2",
  ],
  ...Object.entries({
    bart: "55507acdd8efd38329e13ca480f3a9d3",
    mbart: "84ec8fb6028e1425756ded7573c12de4",
    marian: "d66cbe3a471846e4029c6cab6a497ecc",
    t5: "9b700613b64beb21fee9d9358d45a5c9",
    t5_v1_1: "fc369d5ebad0e986ef1f72ebb7cb4b6c",
    gpt2: "0d2226712437d9b7cedd3be4945acaf2",
    bert: "4c761e267b399e816cc4f8032efd8935",
    roberta: "c6e30c92a56363fad1abc8f1c53540e0",
    llama: "5e2031f69c33c399ff2886813d5f0aff",
    llama_tied: "6cb3c689bec88b8f63a84340813b7e3a",
    qwen2: "42c3879e4b79dda5c256a1b6686716fd",
    mistral: "5e2031f69c33c399ff2886813d5f0aff",
  }).map(([n, digest]): [string, () => FamilyModel, string] => [
    n,
    () => buildModel(hfConfig(n), 6),
    digest,
  ]),
  [
    "llama held in bfloat16",
    () => buildHeldBf16(() => buildModel(hfConfig("llama"), 6)),
    "07d20d0b7e8861423055a21eb6d832b5",
  ],
  [
    "llama with a fresh LoRA adapter",
    () => {
      const m = buildModel(hfConfig("llama"), 6);
      const config = newAdapterConfig(m, {
        r: 4,
        alpha: 8,
        dropout: 0,
        targets: ["q_proj", "v_proj"],
        base: null,
      });
      attachAdapter(m, config, 9);
      return m;
    },
    "15cf2b8bd3e5f5cd334e0924fb08477a",
  ],
];

for (const [name, build, digest] of CASES) {
  test(`a seeded build's weights are those it always had: ${name}`, () => {
    assert.equal(weightsDigest(build()), digest);
  });
}
