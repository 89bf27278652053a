// `maskwise masks show`: draws a mask spec as ascii, json, svg or png (see ../shared/CLI.md).
import { writeFileSync } from "node:fs";
import { renderAscii, renderPng, renderSvg } from "../../attention/render.js";
import { parseMaskSpec } from "../../attention/spec.js";
import { MaskwiseError } from "../../util/errors.js";
import { type Command, numberFlag, parseFlags } from "../command.js";

/** The most cells (batch rows x queries x keys) drawn: 2048 x 2048, a 16 MB JSON answer. */
const MAX_CELLS = 2048 * 2048;
const HELP = `Usage: maskwise masks show --spec SPEC [--q-len N] [--kv-len M] [--lengths a,b,…]
       [--offset K] [--window W] [--prefix P] [--segments 0,0,1,…]
       [--format ascii|json|svg|png] [--out FILE]

Draws which query may attend to which key (true = may attend), one grid per batch row.

SPEC combines causal, padding, window, prefix and documents with & and | (& binds tighter):
  causal     query i (at position i + offset) sees keys 0..i+offset
  padding    key j of row b is real when j < the row's length (--lengths, one per row)
  window     causal sliding window: a query sees itself and the W-1 keys before it (--window)
  prefix     keys before P are seen by every query (--prefix); causal | prefix is a prefix LM
  documents  a query sees keys of its own segment (--segments, one id per position)

--q-len and --kv-len default to each other, or to the longest length or segment list; the
batch has one row per --lengths entry (1 otherwise). json prints
{"q_len":…,"kv_len":…,"attend":[[[true,…],…],…]}; png and svg need --out or write to stdout.`;

function intList(name: string, value: string | undefined): number[] | undefined {
  if (value === undefined) return undefined;
  const parts = value.split(",").map((s) => s.trim());
  const nums = parts.map(Number);
  if (parts.some((p) => p === "") || nums.some((n) => !Number.isInteger(n) || n < 0)) {
    throw new MaskwiseError(`--${name} must be non-negative integers separated by commas`, {
      code: "E_ARG",
      where: `maskwise masks show --${name} ${value}`,
      hint: `e.g. --${name} 5,3`,
    });
  }
  return nums;
}

export const command: Command = {
  path: ["masks", "show"],
  summary: "draw an attention mask (ascii, json, svg, png)",
  help: HELP,
  async run(argv) {
    const cmd = "masks show";
    const { values } = parseFlags(cmd, argv, {
      spec: { type: "string" },
      "q-len": { type: "string" },
      "kv-len": { type: "string" },
      lengths: { type: "string" },
      offset: { type: "string" },
      window: { type: "string" },
      prefix: { type: "string" },
      segments: { type: "string" },
      format: { type: "string", default: "ascii" },
      out: { type: "string" },
    });
    if (!values.spec) {
      throw new MaskwiseError("--spec is required", {
        code: "E_ARG",
        where: "maskwise masks show",
        hint: 'e.g. --spec "causal & padding" --lengths 5,3',
      });
    }
    const lengths = intList("lengths", values.lengths);
    const segments = intList("segments", values.segments);
    const offset = numberFlag(cmd, "offset", values.offset, 0, { min: 0, integer: true });
    const fallbackLen = Math.max(1, ...(lengths ?? []), segments?.length ?? 0);
    const qArg = values["q-len"];
    const kArg = values["kv-len"];
    const kvLen = numberFlag(
      cmd,
      "kv-len",
      kArg,
      qArg !== undefined ? Number(qArg) + offset : fallbackLen,
      { min: 1, integer: true },
    );
    const qLen = numberFlag(cmd, "q-len", qArg, Math.max(1, kvLen - offset), {
      min: 1,
      integer: true,
    });
    const mask = parseMaskSpec(values.spec, {
      lengths,
      offset,
      segments,
      window:
        values.window === undefined
          ? undefined
          : numberFlag(cmd, "window", values.window, 1, { min: 1, integer: true }),
      prefix:
        values.prefix === undefined
          ? undefined
          : numberFlag(cmd, "prefix", values.prefix, 0, { min: 0, integer: true }),
    });
    const B = mask.batch ?? 1;
    if (B * qLen * kvLen > MAX_CELLS) {
      throw new MaskwiseError(
        `a ${B} x ${qLen} x ${kvLen} mask has more than ${MAX_CELLS} cells to draw`,
        {
          code: "E_ARG",
          where: `maskwise masks show --q-len ${qLen} --kv-len ${kvLen}`,
          hint: "draw at most 2048 x 2048 positions; a mask's pattern shows at a few dozen",
        },
      );
    }
    const picture = { mask, B, Tq: qLen, Tk: kvLen };
    let output: string | Uint8Array;
    switch (values.format) {
      case "ascii":
        output = `${renderAscii(picture)}\n`;
        break;
      case "json":
        output = `${JSON.stringify({ q_len: qLen, kv_len: kvLen, attend: mask.toBooleans(B, qLen, kvLen) })}\n`;
        break;
      case "svg":
        output = `${renderSvg(picture)}\n`;
        break;
      case "png":
        output = renderPng(picture);
        break;
      default:
        throw new MaskwiseError(`unknown format '${values.format}'`, {
          code: "E_ARG",
          where: "maskwise masks show --format",
          hint: "use ascii, json, svg or png",
        });
    }
    if (values.out) {
      try {
        writeFileSync(values.out, output);
      } catch (e) {
        throw new MaskwiseError(`cannot write ${values.out}: ${(e as Error).message}`, {
          code: "E_FILE",
          where: values.out,
          hint: "check the folder exists and is writable",
          kind: "failure",
        });
      }
    } else {
      process.stdout.write(output);
    }
    return 0;
  },
};
