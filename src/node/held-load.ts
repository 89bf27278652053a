// A pretrained model's weights loaded straight into a base held in bfloat16 (`--base-precision
// bfloat16`: a LoRA run's base built by nn/layers.ts buildHeldBf16, its Linear weights and tables
// bfloat16 bits from the start). safetensors files are read tensor by tensor from the open files:
// a bfloat16 tensor's bits are copied as they are, a float32 (or float16, float64) one is decoded
// alone and rounded into its holder, so the float32 copy of the whole model never exists; the
// other parameters (norms, biases) are float32 as ever. A .bin checkpoint is read whole, as
// everywhere, then rounded.
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { checkFiniteWeights } from "../io/finite.js";
import {
  decodeTensorData,
  dtypeWidth,
  parseSafetensorsHeader,
  type SafeDType,
  type SafeTensor,
} from "../io/safetensors.js";
import { mergeShards, parseShardIndex } from "../io/shards.js";
import { fromFile } from "../models/families/file-layout.js";
import type { FamilyModel } from "../models/family.js";
import { familyOf, resolveModelConfig } from "../models/registry.js";
import { Embedding, Linear } from "../nn/layers.js";
import { toBf16 } from "../tensor/bf16.js";
import { MaskwiseError } from "../util/errors.js";
import { readJson } from "./files.js";
import { storedTensor } from "./training-setup.js";
import { findWeights, loadWeights } from "./weights.js";

/** One tensor of an open safetensors file, read when asked for. */
class FileTensor implements SafeTensor {
  constructor(
    private readonly fd: number,
    readonly dtype: SafeDType,
    readonly shape: number[],
    private readonly at: number,
    private readonly count: number,
    private readonly where: string,
  ) {}

  private bytes(): Uint8Array {
    const n = this.count * dtypeWidth(this.dtype);
    const out = new Uint8Array(n);
    let done = 0;
    while (done < n) {
      const got = readSync(this.fd, out, done, n - done, this.at + done);
      if (got === 0) {
        throw new MaskwiseError(`the file ended ${n - done} bytes early (changed while read?)`, {
          code: "E_FILE",
          where: this.where,
          kind: "failure",
        });
      }
      done += got;
    }
    return out;
  }

  /** The values in float32 (int32 for integer dtypes), decoded now. */
  get data(): Float32Array | Int32Array {
    return decodeTensorData(this.bytes(), 0, this.count, this.dtype, this.where);
  }

  /** The values as bfloat16 bits: a BF16 tensor's own, anything else rounded. */
  bits(): Uint16Array {
    if (this.dtype !== "BF16") return toBf16(this.data as Float32Array);
    const raw = this.bytes();
    const out = new Uint16Array(this.count);
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    for (let i = 0; i < this.count; i++) out[i] = view.getUint16(i * 2, true);
    return out;
  }
}

/** The tensors of one safetensors file (the file stays open: `fds` collects it to close). */
function openSafetensors(path: string, fds: number[]): Map<string, SafeTensor> {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (e) {
    throw new MaskwiseError(`cannot read file: ${(e as Error).message}`, {
      code: "E_FILE",
      where: path,
      hint: "check the path and the file's permissions",
    });
  }
  fds.push(fd);
  const length = fstatSync(fd).size;
  const head = new Uint8Array(Math.min(8, length));
  readSync(fd, head, 0, head.length, 0);
  const n = length >= 8 ? Number(new DataView(head.buffer).getBigUint64(0, true)) : 0;
  const header = new Uint8Array(Math.min(length, 8 + Math.min(n, 100_000_000)));
  readSync(fd, header, 0, header.length, 0);
  const { entries, dataStart } = parseSafetensorsHeader(header, length, path);
  const out = new Map<string, SafeTensor>();
  for (const e of entries) {
    const count = (e.end - e.begin) / dtypeWidth(e.dtype);
    out.set(
      e.name,
      new FileTensor(
        fd,
        e.dtype,
        e.shape,
        dataStart + e.begin,
        count,
        `${path}: tensor '${e.name}'`,
      ),
    );
  }
  return out;
}

/** Every Linear's own weight and every table held in bfloat16, by parameter name. */
function heldWeights(model: FamilyModel): Map<string, Linear | Embedding> {
  const out = new Map<string, Linear | Embedding>();
  for (const [path, m] of model.namedModules()) {
    if (!(m instanceof Embedding || (m instanceof Linear && !m.tied)) || !m.weightBf16) continue;
    out.set(path ? `${path}.weight` : "weight", m);
  }
  return out;
}

/**
 * Loads the weights of model directory `dir` (its own family's) into `model`, whose base may be
 * held in bfloat16: held weights take bfloat16 bits, tensor by tensor from safetensors files;
 * float32 parameters take float32 values. Every parameter and held weight must be in the file.
 */
export function initFromHeld(model: FamilyModel, dir: string): void {
  const configPath = join(dir, "config.json");
  const fromConfig = resolveModelConfig(
    readJson(configPath, "model config") as Record<string, unknown>,
    configPath,
  );
  if (familyOf(fromConfig) !== familyOf(model.config)) {
    throw new MaskwiseError(
      `a ${familyOf(model.config).name} base cannot load a ${familyOf(fromConfig).name} model's weights`,
      {
        code: "E_CHECKPOINT",
        where: configPath,
        hint: "start the LoRA run from a model of its own family",
      },
    );
  }
  const layout = familyOf(fromConfig).fileLayout(fromConfig);
  const found = findWeights(dir);
  const path = found?.path ?? join(dir, "model.safetensors");
  const held = heldWeights(model);
  const names = new Set([...model.namedParameters().map(([n]) => n), ...held.keys()]);
  const fds: number[] = [];
  try {
    let file: Map<string, SafeTensor>;
    if (found?.format === "safetensors") file = openSafetensors(found.path, fds);
    else if (found?.format === "safetensors-sharded") {
      const index = parseShardIndex(readJson(found.path, basename(found.path)), found.path);
      const shards = new Map<string, Map<string, SafeTensor>>();
      for (const f of index.files)
        shards.set(f, openSafetensors(join(dirname(found.path), f), fds));
      file = mergeShards(index, shards, found.path);
    } else file = loadWeights(dir).tensors;
    const tensors = fromFile(file, layout, names, path);
    const take = (name: string, shape: readonly number[]) =>
      storedTensor(tensors, name, shape, path, model.config.vocab_size);
    for (const [name, p] of model.namedParameters()) p.f32.set(take(name, p.shape).data);
    for (const [name, m] of held) {
      const shape = m instanceof Linear ? [m.outFeatures, m.inFeatures] : [m.num, m.dim];
      const t = take(name, shape);
      const bits = t instanceof FileTensor ? t.bits() : toBf16(Float32Array.from(t.data));
      // NaN and infinity: every exponent bit set.
      const bad = bits.findIndex((b) => (b & 0x7f80) === 0x7f80);
      if (bad >= 0) {
        throw new MaskwiseError(`${name} holds a value that is not finite (element ${bad})`, {
          code: "E_WEIGHTS",
          where: path,
          hint: "the model diverged when it was trained; use an earlier checkpoint",
        });
      }
      (m.weightBf16 as Uint16Array).set(bits);
    }
    checkFiniteWeights(model.namedParameters(), path);
  } finally {
    for (const fd of fds) closeSync(fd);
  }
}
