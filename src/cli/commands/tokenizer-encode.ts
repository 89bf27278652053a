// `maskwise tokenizer encode`: stdin lines to token ids, or with --json to
// {"ids","tokens","offsets"} lines, through any pretrained model's tokenizer: a tokenizer.json,
// a SentencePiece .model, or a model directory (Marian's two .spm files picked by --side).
import { linesOf } from "../../node/lines.js";
import { MaskwiseError } from "../../util/errors.js";
import type { Command } from "../command.js";
import { parseFlags } from "../command.js";
import { tokenizerFromFlags } from "./tokenizer-flags.js";

const NAME = "tokenizer encode";

function parseJsonLine(text: string, n: number): string {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new MaskwiseError(`not a JSON string (${(e as Error).message})`, {
      code: "E_INPUT",
      where: `<stdin>:${n}`,
      hint: 'with --json write each text as a JSON string, e.g. "Hello\\nworld"',
    });
  }
  if (typeof v !== "string") {
    throw new MaskwiseError("the line is JSON but not a string", {
      code: "E_INPUT",
      where: `<stdin>:${n}`,
      hint: "with --json write each text as a JSON string",
    });
  }
  return v;
}

export const command: Command = {
  path: ["tokenizer", "encode"],
  summary: "encode stdin lines to token ids with a tokenizer.json, .model file or model directory",
  help: `Usage: maskwise tokenizer encode --tokenizer PATH [--add-special-tokens] [--json] [--side source|target] < text

Writes one line of space-separated ids for each input line, as the Rust 'tokenizers' library's
encode(line, addSpecialTokens) gives them (SentencePiece files: as the sentencepiece library).
Special tokens are added only with --add-special-tokens.

Options:
  --tokenizer PATH       a tokenizer.json, a SentencePiece .model file, or a model directory
                         (tokenizer.json, a .model, or Marian's source.spm + target.spm + vocab.json)
  --add-special-tokens   let the tokenizer add its special tokens (e.g. <s> ... </s>)
  --json                 each input line is a JSON string; each output line is
                         {"ids":[...],"tokens":[...],"offsets":[[start,end],...]} with offsets in
                         Unicode code points of the text
  --side source|target   Marian: encode with the source (default) or the target language's model
  --tokens               print token strings instead of ids
  --pair                 read TSV lines "text<TAB>pair" and encode each as a sentence pair`,
  async run(argv) {
    const { values } = parseFlags(NAME, argv, {
      tokenizer: { type: "string" },
      "add-special-tokens": { type: "boolean" },
      json: { type: "boolean" },
      side: { type: "string" },
      tokens: { type: "boolean" },
      pair: { type: "boolean" },
    });
    const { tok, side } = tokenizerFromFlags(NAME, values);
    if (values.pair && tok.pipeline === null) {
      throw new MaskwiseError("--pair needs a tokenizer.json or .model tokenizer", {
        code: "E_ARG",
        where: `maskwise ${NAME}`,
        hint: "encode Marian texts one at a time",
      });
    }
    const addSpecialTokens = values["add-special-tokens"] === true;
    let out = "";
    for await (const line of linesOf(process.stdin, "<stdin>")) {
      const text = values.json ? parseJsonLine(line.text, line.n) : line.text;
      let enc: { ids: number[]; tokens: string[]; offsets: [number, number][] };
      if (values.pair) {
        const tab = text.indexOf("\t");
        if (tab < 0) {
          throw new MaskwiseError("a --pair line has no tab", {
            code: "E_INPUT",
            where: `<stdin>:${line.n}`,
            hint: "write each pair as text<TAB>pair",
          });
        }
        enc = tok.pipeline?.encode(text.slice(0, tab), text.slice(tab + 1), {
          addSpecialTokens,
        }) as typeof enc;
      } else {
        enc = tok.encode(text, { addSpecialTokens, side });
      }
      if (values.json)
        out += `${JSON.stringify({ ids: enc.ids, tokens: enc.tokens, offsets: enc.offsets })}\n`;
      else out += `${(values.tokens ? enc.tokens : enc.ids).join(" ")}\n`;
      if (out.length > 1 << 16) {
        if (!process.stdout.write(out)) await new Promise((r) => process.stdout.once("drain", r));
        out = "";
      }
    }
    await new Promise<void>((resolve) => process.stdout.write(out, () => resolve()));
    return 0;
  },
};
