// Building a model whose weights a checkpoint is about to overwrite (a model directory, a
// pretrained model to fine-tune, a LoRA adapter): the random values its initialisers draw would
// be thrown away, and drawing them costs more than reading the file. Inside `buildForLoad`'s
// build, Linear weights, embedding tables and LoRA matrices are allocated but not drawn, and
// each is marked as awaiting its load: its first and last value hold a NaN with a payload of its
// own (a load writes a tensor whole, and model loads refuse values that are not finite; a file
// would have to hold that very NaN there to pass for unloaded). After the load, a weight
// of the model still marked is an error, so a weight is never left at zero where it used to be
// random; a load that fills every weight gives the model that a seeded build and the same load
// gave. Parameters with a fixed start (norms at one, biases at zero) are made as ever.
//
// The generator is not advanced for a weight that is not drawn, so only a build that loads
// every random weight may go through here: a model that takes part of its weights from a file
// and keeps the rest random (an encoder-decoder started from a masked-LM encoder) is built with
// its random weights, as before.
import { MaskwiseError } from "../util/errors.js";
import type { Module } from "./module.js";

/** float32 bits of a signalling NaN; bfloat16 bits of another. */
const MARK32 = 0x7fbadbad;
const MARK16 = 0x7fad;

type WeightData = Float32Array | Uint16Array;

/** The weights the build under way left undrawn; null outside buildForLoad's build. */
let awaiting: Set<WeightData> | null = null;

/** Whether initialisers skip their random draws now (inside buildForLoad's build). */
export function skippingInit(): boolean {
  return awaiting !== null;
}

function bitsOf(data: WeightData): Uint32Array | Uint16Array {
  return data instanceof Float32Array
    ? new Uint32Array(data.buffer, data.byteOffset, data.length)
    : data;
}

/**
 * `data`, a fresh weight array, marked as awaiting its load (inside buildForLoad's build only):
 * its first and last values are set to the mark, the rest stay zero.
 */
export function awaitingLoad<A extends WeightData>(data: A): A {
  if (!awaiting) {
    throw new MaskwiseError("a weight left undrawn outside buildForLoad", {
      code: "E_ASSERT",
      where: "awaitingLoad",
      kind: "failure",
    });
  }
  if (data.length > 0) {
    const bits = bitsOf(data);
    const mark = data instanceof Float32Array ? MARK32 : MARK16;
    bits[0] = mark;
    bits[bits.length - 1] = mark;
  }
  awaiting.add(data);
  return data;
}

function stillMarked(data: WeightData): boolean {
  if (data.length === 0) return false;
  const bits = bitsOf(data);
  const mark = data instanceof Float32Array ? MARK32 : MARK16;
  return bits[0] === mark || bits[bits.length - 1] === mark;
}

/**
 * The names of the model's weights (parameters, and Linear or Embedding weights held as
 * bfloat16 bits, `weightBf16`) that are among `undrawn` and were not loaded.
 */
function unloadedNames(model: Module, undrawn: ReadonlySet<WeightData>): string[] {
  const out: string[] = [];
  for (const [name, p] of model.namedParameters())
    if (p.dtype === "float32" && undrawn.has(p.f32) && stillMarked(p.f32)) out.push(name);
  for (const [path, m] of model.namedModules()) {
    const bits = (m as { weightBf16?: unknown }).weightBf16;
    if (bits instanceof Uint16Array && undrawn.has(bits) && stillMarked(bits))
      out.push(path ? `${path}.weight` : "weight");
  }
  return [...new Set(out)];
}

/**
 * Builds a model with `build`, its random weights allocated but not drawn, then fills them with
 * `load`, which must load every one (or throw, as it would after a seeded build). A weight the
 * load left out is an error naming it, never a silent zero. `where` names the checkpoint.
 */
export function buildForLoad<M extends Module>(
  build: () => M,
  load: (model: M) => void,
  where: string,
): M {
  const outer = awaiting;
  const undrawn = new Set<WeightData>();
  awaiting = undrawn;
  let model: M;
  try {
    model = build();
  } finally {
    awaiting = outer;
  }
  load(model);
  const missing = unloadedNames(model, undrawn);
  if (missing.length > 0) {
    throw new MaskwiseError(
      `the load left ${missing.length} weight${missing.length === 1 ? "" : "s"} unset: ${missing.slice(0, 3).join(", ")}${missing.length > 3 ? ", …" : ""}`,
      {
        code: "E_ASSERT",
        where,
        hint: "a model built for loading takes every random weight from the checkpoint; build it with its random weights when some stay",
        kind: "failure",
      },
    );
  }
  return model;
}
