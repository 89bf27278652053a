// `maskwise forward --model DIR --input batch.json --out out.safetensors`: runs a saved model on
// given ids and writes logits [B, T, V] and loss [] (mean cross-entropy over labels that are not
// -100, no label smoothing), so anyone can hold maskwise against another implementation.
import { serializeSafetensors } from "../../io/safetensors.js";
import { atomicWrite, readJson } from "../../node/files.js";
import { loadEncoderDecoder } from "../../node/model-dir.js";
import { noGrad } from "../../tensor/autograd.js";
import { Tensor } from "../../tensor/tensor.js";
import { MaskwiseError } from "../../util/errors.js";
import { type Command, parseFlags } from "../command.js";

const HELP = `Usage: maskwise forward --model DIR --input batch.json --out out.safetensors

Runs the model in DIR on the ids in batch.json and writes logits [B,T,V] and loss [] (float32).
batch.json: {"input_ids":[[…],…], "attention_mask":[[1,…,0],…], "decoder_input_ids":[[…],…],
"decoder_attention_mask":[[…],…], "labels":[[…],…]}; masks use 1 = real token, 0 = padding;
labels use -100 where nothing is predicted. Masks default to "id is not padding"; without labels
the loss is NaN.`;

const FIELDS = [
  "input_ids",
  "attention_mask",
  "decoder_input_ids",
  "decoder_attention_mask",
  "labels",
];

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
    const unknown = Object.keys(batch).filter((k) => !FIELDS.includes(k));
    if (unknown.length > 0) {
      throw new MaskwiseError(`unknown field '${unknown[0]}'`, {
        code: "E_INPUT",
        where: inputPath,
        hint: `fields: ${FIELDS.join(", ")}`,
      });
    }
    const model = loadEncoderDecoder(values.model as string);
    const V = model.config.vocab_size;
    const tensors = {
      input_ids: matrix(batch, "input_ids", inputPath, true) as Tensor,
      attention_mask: matrix(batch, "attention_mask", inputPath, false),
      decoder_input_ids: matrix(batch, "decoder_input_ids", inputPath, true) as Tensor,
      decoder_attention_mask: matrix(batch, "decoder_attention_mask", inputPath, false),
      labels: matrix(batch, "labels", inputPath, false),
    };
    for (const f of ["input_ids", "decoder_input_ids"] as const) {
      const bad = tensors[f].i32.findIndex((x) => x < 0 || x >= V);
      if (bad >= 0) {
        throw new MaskwiseError(
          `token id ${tensors[f].i32[bad]} is outside the vocabulary [0, ${V})`,
          { code: "E_INPUT", where: `${inputPath}: ${f}` },
        );
      }
    }
    const { logits, loss } = noGrad(() => model.forward(tensors));
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
