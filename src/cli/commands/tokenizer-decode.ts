// `maskwise tokenizer decode`: lines of space-separated ids on stdin to text lines.
import { readText } from "../../node/files.js";
import { linesOf } from "../../node/lines.js";
import { tokenizerFromString } from "../../tokenizer/index.js";
import { MaskwiseError } from "../../util/errors.js";
import type { Command } from "../command.js";
import { parseFlags } from "../command.js";

const NAME = "tokenizer decode";

export const command: Command = {
  path: ["tokenizer", "decode"],
  summary: "decode lines of token ids on stdin back to text",
  help: `Usage: maskwise tokenizer decode --tokenizer tokenizer.json [--skip-special-tokens] < ids

Reads one line of space-separated ids per sequence and writes the text, as the Rust
'tokenizers' library's decode(ids, skipSpecialTokens) gives it.

Options:
  --tokenizer FILE        a tokenizer.json
  --skip-special-tokens   leave out special tokens such as <s> and </s>`,
  async run(argv) {
    const { values } = parseFlags(NAME, argv, {
      tokenizer: { type: "string" },
      "skip-special-tokens": { type: "boolean" },
    });
    if (values.tokenizer === undefined) {
      throw new MaskwiseError("--tokenizer is required", {
        code: "E_ARG",
        where: `maskwise ${NAME}`,
        hint: "give the tokenizer.json to use",
      });
    }
    const tok = tokenizerFromString(readText(values.tokenizer, "tokenizer"), values.tokenizer);
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
      out += `${tok.decode(ids, { skipSpecialTokens })}\n`;
      if (out.length > 1 << 16) {
        if (!process.stdout.write(out)) await new Promise((r) => process.stdout.once("drain", r));
        out = "";
      }
    }
    await new Promise<void>((resolve) => process.stdout.write(out, () => resolve()));
    return 0;
  },
};
