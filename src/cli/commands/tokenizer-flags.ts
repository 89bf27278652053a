// What `tokenizer encode` and `tokenizer decode` read the same way: --tokenizer (a tokenizer.json,
// a SentencePiece .model or a model directory) and --side (Marian's source or target model).
import { loadModelTokenizer } from "../../node/tokenizer-files.js";
import type { ModelTokenizer } from "../../tokenizer/model-tokenizer.js";
import { MaskwiseError } from "../../util/errors.js";

export function tokenizerFromFlags(
  command: string,
  values: { tokenizer?: string; side?: string },
): { tok: ModelTokenizer; side: "source" | "target" | undefined } {
  if (values.tokenizer === undefined) {
    throw new MaskwiseError("--tokenizer is required", {
      code: "E_ARG",
      where: `maskwise ${command}`,
      hint: "give a tokenizer.json, a .model file or a model directory",
    });
  }
  const side = values.side;
  if (side !== undefined && side !== "source" && side !== "target") {
    throw new MaskwiseError(`--side must be source or target, not '${side}'`, {
      code: "E_ARG",
      where: `maskwise ${command}`,
      hint: "use --side source or --side target",
    });
  }
  return { tok: loadModelTokenizer(values.tokenizer), side };
}
