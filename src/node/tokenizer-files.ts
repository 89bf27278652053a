// Finds and reads a pretrained model's tokenizer files: a tokenizer.json, a SentencePiece
// `.model` (or Marian's `.spm`), or a model directory holding either, or Marian's
// source.spm/target.spm/vocab.json; tokenizer_config.json is read when it sits beside them, and
// the chat templates transformers >= 4.43 keeps in their own files (chat_template.jinja, and
// additional_chat_templates/NAME.jinja), which take the place of the config's chat_template.
import { existsSync, readdirSync, statSync } from "node:fs";
import { basename, join } from "node:path";
import { ModelTokenizer, type TokenizerFiles } from "../tokenizer/model-tokenizer.js";
import { MaskwiseError } from "../util/errors.js";
import { readBytes, readText } from "./files.js";

/** SentencePiece file names that transformers' model repositories use, in order of preference. */
const SPM_NAMES = [
  "tokenizer.model",
  "spiece.model",
  "sentencepiece.bpe.model",
  "sentencepiece.model",
];

function configBeside(dir: string): string | undefined {
  const p = join(dir, "tokenizer_config.json");
  return existsSync(p) ? readText(p, "tokenizer_config.json") : undefined;
}

/** The file of a directory's default chat template (transformers' CHAT_TEMPLATE_FILE). */
export const CHAT_TEMPLATE_FILE = "chat_template.jinja";
/** The folder of its other, named templates (transformers' CHAT_TEMPLATE_DIR). */
export const CHAT_TEMPLATE_DIR = "additional_chat_templates";

/**
 * The chat templates kept in files in `dir`, by name ("default" for chat_template.jinja), or
 * undefined when there are none.
 */
export function chatTemplateFiles(dir: string): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  const main = join(dir, CHAT_TEMPLATE_FILE);
  if (existsSync(main)) out.default = readText(main, CHAT_TEMPLATE_FILE);
  const more = join(dir, CHAT_TEMPLATE_DIR);
  if (existsSync(more) && statSync(more).isDirectory()) {
    for (const f of readdirSync(more).sort()) {
      if (!f.endsWith(".jinja")) continue;
      out[f.slice(0, -".jinja".length)] = readText(join(more, f), `${CHAT_TEMPLATE_DIR}/${f}`);
    }
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/** The files a path names, read into memory. */
export function readTokenizerFiles(path: string): TokenizerFiles {
  if (!existsSync(path)) {
    throw new MaskwiseError("tokenizer not found", {
      code: "E_FILE",
      where: path,
      hint: "give a tokenizer.json, a SentencePiece .model, or a model directory",
    });
  }
  if (statSync(path).isDirectory()) {
    const config = configBeside(path);
    const chatTemplates = chatTemplateFiles(path);
    const json = join(path, "tokenizer.json");
    if (existsSync(json))
      return {
        tokenizerJson: readText(json, "tokenizer.json"),
        config,
        chatTemplates,
        source: json,
      };
    const [src, tgt, vocab] = ["source.spm", "target.spm", "vocab.json"].map((f) => join(path, f));
    if (existsSync(src) && existsSync(tgt) && existsSync(vocab)) {
      return {
        marian: {
          source: readBytes(src, "source.spm"),
          target: readBytes(tgt, "target.spm"),
          vocab: readText(vocab, "vocab.json"),
        },
        config,
        chatTemplates,
        source: path,
      };
    }
    for (const name of SPM_NAMES) {
      const p = join(path, name);
      if (existsSync(p))
        return { sentencePiece: readBytes(p, name), config, chatTemplates, source: p };
    }
    throw new MaskwiseError("no tokenizer files in this directory", {
      code: "E_FILE",
      where: path,
      hint: "a model directory needs tokenizer.json, a SentencePiece .model, or source.spm + target.spm + vocab.json",
    });
  }
  const name = basename(path);
  if (name.endsWith(".model") || name.endsWith(".spm")) {
    // A .model named on its own is SentencePiece alone (no special tokens, as the sentencepiece
    // library); a model directory adds its tokenizer_config.json.
    return { sentencePiece: readBytes(path, name), source: path };
  }
  return { tokenizerJson: readText(path, "tokenizer.json"), source: path };
}

/** The tokenizer of a pretrained model from a tokenizer.json, a `.model` file or a directory. */
export function loadModelTokenizer(path: string): ModelTokenizer {
  return ModelTokenizer.fromFiles(readTokenizerFiles(path));
}
