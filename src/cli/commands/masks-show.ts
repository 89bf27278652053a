// `maskwise masks show`: draws a mask spec as ascii, json, svg or png (see ../shared/CLI.md),
// or, with --chat, one training row of chat data: which tokens carry loss and which keys each
// query sees (causal & documents over the packed conversations).
import { writeFileSync } from "node:fs";
import { type MaskPicture, renderAscii, renderPng, renderSvg } from "../../attention/render.js";
import { parseMaskSpec } from "../../attention/spec.js";
import { readConversations } from "../../node/chat-data.js";
import { loadModelTokenizer } from "../../node/tokenizer-files.js";
import { chatRowView } from "../../train/chat-task.js";
import { MaskwiseError } from "../../util/errors.js";
import { type Command, numberFlag, parseFlags } from "../command.js";

/** The most cells (batch rows x queries x keys) drawn: 2048 x 2048, a 16 MB JSON answer. */
const MAX_CELLS = 2048 * 2048;
const HELP = `Usage: maskwise masks show --spec SPEC [--q-len N] [--kv-len M] [--lengths a,b,…]
       [--offset K] [--window W] [--prefix P] [--segments 0,0,1,…]
       [--format ascii|json|svg|png] [--out FILE]
       maskwise masks show --chat FILE.jsonl --tokenizer DIR [--example N] [--pack N]
       [--max-len N] [--format ascii|json|svg|png] [--out FILE]

Draws which query may attend to which key (true = may attend), one grid per batch row.

--chat draws training row N (default 0) of 'maskwise train --task chat' on FILE's conversations
({"messages":[…]} a line) with DIR's chat template: without --pack the row is conversation N;
with --pack T the conversations are packed into rows of T tokens and the row is packed row N.
ascii lists each position's token, position id, document and the token it is trained to
predict (loss) before the grid of causal & documents; json adds "tokens", "ids", "labels",
"loss", "position_ids" and "document_ids" beside the grid. --max-len cuts each conversation
(default 256).

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
      chat: { type: "string" },
      tokenizer: { type: "string" },
      example: { type: "string" },
      pack: { type: "string" },
      "max-len": { type: "string" },
    });
    if (values.chat !== undefined) return showChat(values);
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
    emit(values.format, values.out, picture, () => ({
      q_len: qLen,
      kv_len: kvLen,
      attend: mask.toBooleans(B, qLen, kvLen),
    }));
    return 0;
  },
};

/** Writes the picture in `format` to `out` (or stdout); json is `json()` as one line. */
function emit(
  format: string | undefined,
  out: string | undefined,
  picture: MaskPicture,
  json: () => Record<string, unknown>,
  asciiHead = "",
): void {
  let output: string | Uint8Array;
  switch (format) {
    case "ascii":
      output = `${asciiHead}${renderAscii(picture)}\n`;
      break;
    case "json":
      output = `${JSON.stringify(json())}\n`;
      break;
    case "svg":
      output = `${renderSvg(picture)}\n`;
      break;
    case "png":
      output = renderPng(picture);
      break;
    default:
      throw new MaskwiseError(`unknown format '${format}'`, {
        code: "E_ARG",
        where: "maskwise masks show --format",
        hint: "use ascii, json, svg or png",
      });
  }
  if (out) {
    try {
      writeFileSync(out, output);
    } catch (e) {
      throw new MaskwiseError(`cannot write ${out}: ${(e as Error).message}`, {
        code: "E_FILE",
        where: out,
        hint: "check the folder exists and is writable",
        kind: "failure",
      });
    }
  } else {
    process.stdout.write(output);
  }
}

/** --chat: a training row of chat data, its loss positions and its causal & documents mask. */
async function showChat(values: Record<string, string | boolean | undefined>): Promise<number> {
  const cmd = "masks show";
  const file = values.chat as string;
  const spec = ["spec", "lengths", "segments", "window", "prefix", "offset", "q-len", "kv-len"];
  const clash = spec.find((f) => values[f] !== undefined);
  if (clash !== undefined) {
    throw new MaskwiseError(`--chat draws the chat data's own mask; --${clash} does not apply`, {
      code: "E_ARG",
      where: `maskwise ${cmd} --chat ${file} --${clash}`,
      hint: "drop it, or drop --chat to draw a spec",
    });
  }
  if (values.tokenizer === undefined) {
    throw new MaskwiseError("--chat needs --tokenizer", {
      code: "E_ARG",
      where: `maskwise ${cmd} --chat ${file}`,
      hint: "give the model directory whose tokenizer_config.json has the chat template",
    });
  }
  const tok = loadModelTokenizer(values.tokenizer as string);
  const row = numberFlag(cmd, "example", values.example as string | undefined, 0, {
    min: 0,
    integer: true,
  });
  const view = chatRowView(await readConversations(file), tok, {
    row,
    maxLen: numberFlag(cmd, "max-len", values["max-len"] as string | undefined, 256, {
      min: 2,
      integer: true,
    }),
    pack: numberFlag(cmd, "pack", values.pack as string | undefined, 0, { min: 0, integer: true }),
    where: `maskwise ${cmd} --chat ${file} --example ${row}`,
  });
  const T = view.ids.length;
  const picture = { mask: view.mask, B: 1, Tq: T, Tk: T };
  if (B_CELLS(T) > MAX_CELLS) {
    throw new MaskwiseError(`a row of ${T} tokens has more than ${MAX_CELLS} cells to draw`, {
      code: "E_ARG",
      where: `maskwise ${cmd} --chat ${file}`,
      hint: "lower --max-len or --pack",
    });
  }
  const shown = (id: number) => JSON.stringify(tok.decode([id]));
  const w = String(T - 1).length;
  const lines = [
    `row ${row} of ${view.rows}: ${T} tokens, ${new Set(view.document_ids).size} conversation(s), ${view.labels.filter((l) => l !== -100).length} carry loss`,
    `${"t".padStart(w)}  pos  doc  token -> predicts (loss)`,
    ...view.ids.map(
      (id, t) =>
        `${String(t).padStart(w)}  ${String(view.position_ids[t]).padStart(3)}  ${String(view.document_ids[t]).padStart(3)}  ${shown(id)}${view.labels[t] === -100 ? "" : ` -> ${shown(view.labels[t])}`}`,
    ),
    "",
  ];
  emit(
    values.format as string | undefined,
    values.out as string | undefined,
    picture,
    () => ({
      q_len: T,
      kv_len: T,
      attend: view.mask.toBooleans(1, T, T),
      mask: view.mask.describe(),
      ids: view.ids,
      tokens: view.tokens,
      labels: view.labels,
      loss: view.labels.map((l) => l !== -100),
      position_ids: view.position_ids,
      document_ids: view.document_ids,
    }),
    `${lines.join("\n")}\n`,
  );
  return 0;
}

const B_CELLS = (T: number) => T * T;
