// `maskwise tokenizer decode`: lines of space-separated ids on stdin to text lines.
import { linesOf } from "../../node/lines.js";
import { MaskwiseError } from "../../util/errors.js";
import type { Command } from "../command.js";
import { parseFlags } from "../command.js";
import { tokenizerFromFlags } from "./tokenizer-flags.js";

const NAME = "tokenizer decode";

export const command: Command = {
  path: ["tokenizer", "decode"],
  summary: "decode lines of token ids on stdin back to text",
  help: `Usage: maskwise tokenizer decode --tokenizer PATH [--skip-special-tokens] [--side source|target] < ids

Reads one line of space-separated ids per sequence and writes the text, as the Rust
'tokenizers' library's decode(ids, skipSpecialTokens) gives it (SentencePiece files: as the
sentencepiece library; Marian: as transformers' MarianTokenizer).

Options:
  --tokenizer PATH        a tokenizer.json, a SentencePiece .model file, or a model directory
  --skip-special-tokens   leave out special tokens such as <s> and </s>
  --side source|target    Marian: join pieces with the source (default) or target model`,
  async run(argv) {
    const { values } = parseFlags(NAME, argv, {
      tokenizer: { type: "string" },
      "skip-special-tokens": { type: "boolean" },
      side: { type: "string" },
    });
    const { tok, side } = tokenizerFromFlags(NAME, values);
    const vocabSize = tok.vocabSize;
    const skipSpecialTokens = values["skip-special-tokens"] === true;
    let out = "";
    for await (const { n, text } of linesOf(process.stdin, "<stdin>")) {
      const words = text.trim() === "" ? [] : text.trim().split(/\s+/);
      const ids = words.map((w) => {
        const id = Number(w);
        if (!Number.isInteger(id) || id < 0 || id >= vocabSize) {
          throw new MaskwiseError(`'${w}' is not a token id (0..${vocabSize - 1})`, {
            code: "E_ARG",
            where: `<stdin>:${n}`,
            hint: "give space-separated ids from this tokenizer",
          });
        }
        return id;
      });
      out += `${tok.decode(ids, { skipSpecialTokens, side })}\n`;
      if (out.length > 1 << 16) {
        if (!process.stdout.write(out)) await new Promise((r) => process.stdout.once("drain", r));
        out = "";
      }
    }
    await new Promise<void>((resolve) => process.stdout.write(out, () => resolve()));
    return 0;
  },
};
