// The files of chat fine-tuning and chatting: conversations in JSON lines
// ({"messages":[…]} a line), and a chat model's tokenizer files, which a fine-tuned checkpoint
// carries over unchanged (tokenizer.json, tokenizer_config.json with the chat template), bound
// to the weights by tokenizer.json's hash as every maskwise checkpoint is.
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import type { FamilyModel } from "../models/family.js";
import type { DecoderOnlyDecodable } from "../models/incremental.js";
import { chatConfig } from "../objectives/chat.js";
import { parseConversation } from "../tokenizer/chat-messages.js";
import type { ModelTokenizer } from "../tokenizer/model-tokenizer.js";
import type { ChatMessage } from "../tokenizer/tokenizer-config.js";
import { MaskwiseError } from "../util/errors.js";
import { readText } from "./files.js";
import { fileLines } from "./lines.js";
import { loadDecoderOnly } from "./model-dir.js";
import { CHAT_TEMPLATE_DIR, CHAT_TEMPLATE_FILE, loadModelTokenizer } from "./tokenizer-files.js";
import { safetensorsMetadata, tokenizerHash, withGenerationConfig } from "./training-setup.js";

export interface Conversation {
  messages: ChatMessage[];
  /** file:line */
  where: string;
}

/** Every conversation of a JSON-lines file (blank lines skipped). */
export async function readConversations(path: string): Promise<Conversation[]> {
  const out: Conversation[] = [];
  for await (const line of fileLines(path)) {
    if (line.text.trim() === "") continue;
    const where = `${path}:${line.n}`;
    out.push({ messages: parseConversation(line.text, where), where });
  }
  return out;
}

/**
 * The tokenizer files a chat checkpoint copies from the model it started from; a chat template
 * kept in its own files (chat_template.jinja, additional_chat_templates/) stays there.
 */
const CARRIED = [
  "tokenizer.json",
  "tokenizer_config.json",
  "special_tokens_map.json",
  CHAT_TEMPLATE_FILE,
];

/**
 * What a chat run writes with every checkpoint: the tokenizer files of `dir` as they are (and
 * its generation_config.json), and tokenizer.json's hash in the weights' metadata.
 */
export function chatCheckpointFiles(
  dir: string,
  generationFrom?: string,
): { extraFiles: Record<string, string>; weightsMetadata: Record<string, string> } {
  const json = join(dir, "tokenizer.json");
  if (!existsSync(json)) {
    throw new MaskwiseError(`${dir} has no tokenizer.json`, {
      code: "E_TOKENIZER",
      where: dir,
      hint: "chat fine-tuning copies the model's tokenizer.json and tokenizer_config.json into its checkpoints; give a directory that has both",
    });
  }
  const extraFiles: Record<string, string> = {};
  for (const f of CARRIED) {
    const p = join(dir, f);
    if (existsSync(p)) extraFiles[f] = readText(p, f);
  }
  const more = join(dir, CHAT_TEMPLATE_DIR);
  if (existsSync(more)) {
    for (const f of readdirSync(more).filter((n) => n.endsWith(".jinja")))
      extraFiles[`${CHAT_TEMPLATE_DIR}/${f}`] = readText(join(more, f), f);
  }
  return {
    extraFiles: withGenerationConfig(extraFiles, generationFrom),
    weightsMetadata: { tokenizer_sha256: tokenizerHash(extraFiles["tokenizer.json"]) },
  };
}

/**
 * A chat model directory's tokenizer with its chat template, which must be the one the weights
 * were saved with when they record its hash, and fit the model's `vocabSize` embedding rows.
 */
export function loadChatTokenizer(dir: string, vocabSize: number): ModelTokenizer {
  const tok = loadModelTokenizer(dir);
  chatConfig(tok);
  const bound = safetensorsMetadata(join(dir, "model.safetensors")).tokenizer_sha256;
  const json = join(dir, "tokenizer.json");
  if (
    bound !== undefined &&
    existsSync(json) &&
    tokenizerHash(readText(json, "tokenizer.json")) !== bound
  ) {
    throw new MaskwiseError(
      "tokenizer.json is not the tokenizer model.safetensors was trained with",
      {
        code: "E_TOKENIZER",
        where: dir,
        hint: "put back the tokenizer.json saved with these weights",
      },
    );
  }
  if (tok.vocabSize > vocabSize) {
    throw new MaskwiseError(
      `the tokenizer has ${tok.vocabSize} tokens, more than the model's ${vocabSize}`,
      { code: "E_TOKENIZER", where: dir, hint: "use the tokenizer of this model" },
    );
  }
  return tok;
}

/** A chat model directory: its decoder-only model (eval mode) and its chat tokenizer. */
export function loadChatModel(dir: string): {
  model: FamilyModel & DecoderOnlyDecodable;
  tok: ModelTokenizer;
} {
  const model = loadDecoderOnly(dir);
  return { model, tok: loadChatTokenizer(dir, model.config.vocab_size) };
}
