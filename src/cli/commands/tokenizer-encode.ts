// `maskwise tokenizer encode`: stdin lines to lines of space-separated token ids.
import { readText } from "../../node/files.js";
import { linesOf } from "../../node/lines.js";
import { tokenizerFromString } from "../../tokenizer/index.js";
import { MaskwiseError } from "../../util/errors.js";
import type { Command } from "../command.js";
import { parseFlags } from "../command.js";

const NAME = "tokenizer encode";

export const command: Command = {
  path: ["tokenizer", "encode"],
  summary: "encode stdin lines to token ids with a tokenizer.json",
  help: `Usage: maskwise tokenizer encode --tokenizer tokenizer.json [--add-special-tokens] [--pair] < text

Writes one line of space-separated ids for each input line, as the Rust 'tokenizers' library's
encode(line, addSpecialTokens) gives them. Special tokens are added only with
--add-special-tokens (the tokenizer's template, e.g. <s> ... </s>).

Options:
  --tokenizer FILE       a tokenizer.json (BPE with Metaspace or ByteLevel, or WordPiece)
  --add-special-tokens   wrap every line in the template's special tokens
  --tokens               print token strings instead of ids
  --pair                 read TSV lines "text<TAB>pair" and encode each as a sentence pair
                         (the template's pair form, e.g. <s> A </s> </s> B </s>)`,
  async run(argv) {
    const { values } = parseFlags(NAME, argv, {
      tokenizer: { type: "string" },
      "add-special-tokens": { type: "boolean" },
      tokens: { type: "boolean" },
      pair: { type: "boolean" },
    });
    if (values.tokenizer === undefined) {
      throw new MaskwiseError("--tokenizer is required", {
        code: "E_ARG",
        where: `maskwise ${NAME}`,
        hint: "give the tokenizer.json to use",
      });
    }
    const tok = tokenizerFromString(readText(values.tokenizer, "tokenizer"), values.tokenizer);
    const options = { addSpecialTokens: values["add-special-tokens"] === true };
    let out = "";
    for await (const line of linesOf(process.stdin, "<stdin>")) {
      let ids: number[];
      if (values.pair) {
        const tab = line.text.indexOf("\t");
        if (tab < 0) {
          throw new MaskwiseError("a --pair line has no tab", {
            code: "E_INPUT",
            where: `<stdin>:${line.n}`,
            hint: "write each pair as text<TAB>pair",
          });
        }
        ids = tok.encodeFull(line.text.slice(0, tab), line.text.slice(tab + 1), options).ids;
      } else {
        ids = tok.encode(line.text, options);
      }
      out += `${(values.tokens ? ids.map((id) => tok.idToToken(id)) : ids).join(" ")}\n`;
      if (out.length > 1 << 16) {
        if (!process.stdout.write(out)) await new Promise((r) => process.stdout.once("drain", r));
        out = "";
      }
    }
    await new Promise<void>((resolve) => process.stdout.write(out, () => resolve()));
    return 0;
  },
};
