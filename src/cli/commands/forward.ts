// `maskwise forward --model DIR --input batch.json --out out.safetensors`: runs a saved model on
// given ids and writes logits [B, T, V] and loss [] (mean cross-entropy over labels that are not
// -100, no label smoothing), so anyone can hold maskwise against another implementation.

import { serializeSafetensors } from "../../io/safetensors.js";
import { familyOf } from "../../models/registry.js";
import { loadAdapter } from "../../node/adapter.js";
import { atomicWrite, readJson } from "../../node/files.js";
import { modelDirArg } from "../../node/model-arg.js";
import { loadModel } from "../../node/model-dir.js";
import { noGrad } from "../../tensor/autograd.js";
import { Tensor } from "../../tensor/tensor.js";
import { MaskwiseError } from "../../util/errors.js";
import { type Command, parseFlags } from "../command.js";

const HELP = `Usage: maskwise forward --model DIR [--adapter DIR] --input batch.json --out out.safetensors

Runs the model in DIR on the ids in batch.json and writes logits [B,T,V] and loss [] (float32).
--adapter DIR puts a LoRA adapter in PEFT's format (adapter_config.json,
adapter_model.safetensors; a LoRA run's checkpoint) on the model first, as PEFT's PeftModel does.
The fields batch.json may hold depend on the model's family (config.json's maskwise_arch):
  encoder-decoder  input_ids, attention_mask, decoder_input_ids, decoder_attention_mask, labels
                   (input_ids and decoder_input_ids required; logits are the decoder's)
  decoder-only     input_ids, attention_mask, labels, prefix_lengths (one integer a row: the
                   positions before it attend bidirectionally, a prefix LM; absent = causal),
                   position_ids and document_ids ([B,T]; packed rows: positions restarting at
                   0 with each document, and attention kept within a document)
  encoder-only     input_ids, attention_mask, labels (masked-LM logits)
Id fields are lists of equally long lists of integers, e.g. "input_ids":[[…],…]; masks use
1 = real token, 0 = padding; labels use -100 where nothing is predicted and are aligned with the
logits (position t is scored against labels[t], no shift inside). Masks default to "id is not
padding"; without labels the loss is NaN.`;

/** prefix_lengths: one integer a row, within [0, T]. */
function prefixLengths(value: unknown, rows: number, width: number, path: string): number[] {
  const ok =
    Array.isArray(value) &&
    value.length === rows &&
    value.every((x) => typeof x === "number" && Number.isInteger(x) && x >= 0 && x <= width);
  if (!ok) {
    throw new MaskwiseError(`'prefix_lengths' must be ${rows} integers in [0, ${width}]`, {
      code: "E_INPUT",
      where: `${path}: prefix_lengths`,
      hint: "one prefix length a row of input_ids",
    });
  }
  return value as number[];
}

function matrix(
  batch: Record<string, unknown>,
  field: string,
  path: string,
  required: boolean,
): Tensor | undefined {
  const v = batch[field];
  if (v === undefined) {
    if (required)
      throw new MaskwiseError(`missing field '${field}'`, {
        code: "E_INPUT",
        where: path,
        hint: "see 'maskwise forward --help'",
      });
    return undefined;
  }
  const bad = (why: string): never => {
    throw new MaskwiseError(`'${field}' ${why}`, {
      code: "E_INPUT",
      where: `${path}: ${field}`,
      hint: "give a list of equally long lists of integers",
    });
  };
  if (!Array.isArray(v) || v.length === 0) bad("must be a non-empty list of rows");
  const rows = v as unknown[];
  const width = Array.isArray(rows[0]) ? (rows[0] as unknown[]).length : -1;
  const flat: number[] = [];
  rows.forEach((r, i) => {
    if (!Array.isArray(r) || r.length !== width) bad(`row ${i} is not a list of ${width} values`);
    for (const x of r as unknown[]) {
      if (typeof x !== "number" || !Number.isInteger(x) || x < -2147483648 || x > 2147483647)
        bad(`row ${i} holds ${JSON.stringify(x)}, not an integer`);
      flat.push(x as number);
    }
  });
  if (width === 0) bad("has empty rows");
  return new Tensor(Int32Array.from(flat), [rows.length, width]);
}

export const command: Command = {
  path: ["forward"],
  summary: "run a saved model on given ids; write logits and loss",
  help: HELP,
  async run(argv) {
    const { values } = parseFlags("forward", argv, {
      model: { type: "string" },
      adapter: { type: "string" },
      input: { type: "string" },
      out: { type: "string" },
    });
    for (const f of ["model", "input", "out"] as const) {
      if (!values[f])
        throw new MaskwiseError(`--${f} is required`, {
          code: "E_ARG",
          where: "maskwise forward",
          hint: "see 'maskwise forward --help'",
        });
    }
    const inputPath = values.input as string;
    const raw = readJson(inputPath, "batch file");
    if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
      throw new MaskwiseError("batch file must hold a JSON object", {
        code: "E_INPUT",
        where: inputPath,
      });
    }
    const batch = raw as Record<string, unknown>;
    const model = loadModel(modelDirArg(values.model as string));
    if (values.adapter) loadAdapter(model, values.adapter);
    const family = familyOf(model.config);
    const fields = family.batchFields;
    const unknown = Object.keys(batch).filter((k) => !fields.includes(k));
    if (unknown.length > 0) {
      throw new MaskwiseError(`unknown field '${unknown[0]}' for this ${family.name} model`, {
        code: "E_INPUT",
        where: inputPath,
        hint: `fields of a ${family.name} model: ${fields.join(", ")}`,
      });
    }
    const V = model.config.vocab_size;
    const ids = (f: string) => {
      const t = matrix(batch, f, inputPath, true) as Tensor;
      const bad = t.i32.findIndex((x) => x < 0 || x >= V);
      if (bad >= 0) {
        throw new MaskwiseError(`token id ${t.i32[bad]} is outside the vocabulary [0, ${V})`, {
          code: "E_INPUT",
          where: `${inputPath}: ${f}`,
        });
      }
      return t;
    };
    // The family's batch, field by field: token ids (checked against the vocabulary), masks and
    // labels as [B, T] matrices, prefix lengths as one integer a row.
    const input: Record<string, unknown> = {};
    for (const f of fields) {
      if (f.endsWith("input_ids")) input[f] = ids(f);
      else if (f === "prefix_lengths") {
        if (batch[f] === undefined) continue;
        const [B, T] = (input.input_ids as Tensor).shape;
        input[f] = prefixLengths(batch[f], B, T, inputPath);
      } else {
        const t = matrix(batch, f, inputPath, false);
        if (t !== undefined) input[f] = t;
      }
    }
    const { logits, loss } = noGrad(() => model.forward(input as never));
    atomicWrite(
      values.out as string,
      serializeSafetensors([
        ["logits", { shape: logits.shape, data: logits.f32 }],
        ["loss", { shape: [], data: Float32Array.of(loss ? loss.item() : Number.NaN) }],
      ]),
    );
    return 0;
  },
};
