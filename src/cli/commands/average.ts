// `maskwise average --out DIR CKPT_DIR…`: one model directory whose weights are the element-wise
// mean of several checkpoints of the same model (Vaswani et al. average the last checkpoints;
// `train --keep-epochs N` keeps checkpoints/epoch-K/ for this). config.json and tokenizer.json
// come from the first directory; the others must have the same config and tokenizer, since a mean
// of weights is only meaningful over one architecture and one vocabulary.
import { existsSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { averageCheckpoints } from "../../io/average.js";
import { parseSafetensors, serializeSafetensors } from "../../io/safetensors.js";
import { atomicWrite, readBytes, readJson, readText } from "../../node/files.js";
import { MaskwiseError } from "../../util/errors.js";
import { type Command, parseFlags } from "../command.js";

const NAME = "average";
const HELP = `Usage: maskwise average --out DIR CKPT_DIR CKPT_DIR…

Writes a model directory whose weights are the mean of the given model directories' weights
(for example the last epoch checkpoints that 'maskwise train --keep-epochs 3' keeps in
RUN/checkpoints/epoch-K/). config.json and tokenizer.json are copied from the first directory;
every directory must have the same config.json (and tokenizer.json), otherwise nothing is written.
Prints one JSON line: {"out": DIR, "averaged": N}.

Options:
  --out DIR     the model directory to write (created if needed; a folder that is not empty is
                refused)
  --overwrite   write into an --out that is not empty: its model files (and the optimizer and
                trainer state of a checkpoint, which would not belong to the averaged weights)
                are deleted first`;

/** What a model directory or checkpoint holds: --overwrite deletes these. */
const MODEL_FILES = [
  "config.json",
  "model.safetensors",
  "tokenizer.json",
  "optimizer.safetensors",
  "trainer_state.json",
];

/** config.json as a canonical string: keys sorted at every level, so key order does not matter. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const o = value as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(value);
}

/** The first key path where two configs differ, for the error message. */
function firstDifference(a: Record<string, unknown>, b: Record<string, unknown>): string {
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  for (const k of keys) {
    if (canonical(a[k]) !== canonical(b[k]))
      return `${k}: ${canonical(a[k]) ?? "absent"} vs ${canonical(b[k]) ?? "absent"}`;
  }
  return "";
}

export const command: Command = {
  path: [NAME],
  summary: "average the weights of checkpoints of one model into a model directory",
  help: HELP,
  async run(argv) {
    const { values, positionals: dirs } = parseFlags(
      NAME,
      argv,
      { out: { type: "string" }, overwrite: { type: "boolean" } },
      true,
    );
    const out = values.out;
    if (!out) {
      throw new MaskwiseError("--out is required", {
        code: "E_ARG",
        where: `maskwise ${NAME}`,
        hint: "maskwise average --out DIR CKPT_DIR CKPT_DIR…",
      });
    }
    if (dirs.length === 0) {
      throw new MaskwiseError("no checkpoint directories given", {
        code: "E_ARG",
        where: `maskwise ${NAME}`,
        hint: "pass the model directories to average after the flags",
      });
    }
    const configs = dirs.map((d) => {
      if (!existsSync(join(d, "model.safetensors"))) {
        throw new MaskwiseError("not a model directory (no model.safetensors)", {
          code: "E_FILE",
          where: d,
          hint: "pass checkpoint folders such as RUN/checkpoints/epoch-K",
        });
      }
      return readJson(join(d, "config.json"), "config.json") as Record<string, unknown>;
    });
    const tokenizers = dirs.map((d) =>
      existsSync(join(d, "tokenizer.json")) ? readText(join(d, "tokenizer.json")) : null,
    );
    dirs.forEach((d, i) => {
      if (canonical(configs[i]) !== canonical(configs[0])) {
        throw new MaskwiseError(
          `config.json differs from ${dirs[0]}'s (${firstDifference(configs[0], configs[i])})`,
          {
            code: "E_CONFIG",
            where: join(d, "config.json"),
            hint: "average checkpoints of one model only",
          },
        );
      }
      if (tokenizers[i] !== tokenizers[0]) {
        throw new MaskwiseError(`tokenizer.json differs from ${dirs[0]}'s`, {
          code: "E_CONFIG",
          where: d,
          hint: "average checkpoints trained with one tokenizer only",
        });
      }
    });
    const weights = dirs.map((d) => {
      const path = join(d, "model.safetensors");
      return parseSafetensors(readBytes(path, "model.safetensors"), path).tensors;
    });
    const mean = averageCheckpoints(weights, dirs);
    if (existsSync(out) && readdirSync(out).length > 0) {
      // A checkpoint's optimizer state would be taken for the averaged model's on --resume.
      if (!values.overwrite) {
        throw new MaskwiseError("--out is not empty", {
          code: "E_ARG",
          where: out,
          hint: "choose a new folder, or pass --overwrite to replace the model files there",
        });
      }
      for (const f of MODEL_FILES) rmSync(join(out, f), { force: true });
    }
    mkdirSync(out, { recursive: true });
    atomicWrite(join(out, "config.json"), readText(join(dirs[0], "config.json")));
    if (tokenizers[0] !== null) atomicWrite(join(out, "tokenizer.json"), tokenizers[0]);
    // The weights last: a reader that finds them finds the directory complete.
    atomicWrite(
      join(out, "model.safetensors"),
      serializeSafetensors(mean, { format: "pt", averaged_from: String(dirs.length) }),
    );
    process.stdout.write(`${JSON.stringify({ out, averaged: dirs.length })}\n`);
    return 0;
  },
};
