// tokenizer_config.json, as transformers writes it beside tokenizer.json: the special tokens
// (plain strings or AddedToken objects), add_bos_token / add_eos_token, model_max_length, the
// padding and truncation sides, and the chat template (one string, or a list of named ones),
// rendered with @huggingface/jinja as transformers renders it with Jinja2. A template kept in its
// own file (chat_template.jinja) is given by the caller and takes the config's place.
import { Template } from "@huggingface/jinja";
import { MaskwiseError } from "../util/errors.js";
import { isObj } from "./json-util.js";

export interface ChatMessage {
  role: string;
  content: string;
  [key: string]: unknown;
}

export interface TokenizerConfig {
  bosToken: string | null;
  eosToken: string | null;
  unkToken: string | null;
  padToken: string | null;
  /** Every *_token field, by name (bos_token, eos_token, ..., cls_token, mask_token). */
  specialTokens: Record<string, string>;
  addBosToken: boolean | null;
  addEosToken: boolean | null;
  modelMaxLength: number | null;
  paddingSide: "right" | "left";
  truncationSide: "right" | "left";
  cleanUpTokenizationSpaces: boolean;
  /** Chat templates by name; the default one is "default". */
  chatTemplates: Map<string, string>;
  /** The file as read, for fields maskwise does not interpret. */
  raw: Record<string, unknown>;
}

const tokenOf = (x: unknown): string | null =>
  typeof x === "string" ? x : isObj(x) && typeof x.content === "string" ? x.content : null;

/** transformers writes 1e30 (int(VERY_LARGE_INTEGER)) when a model sets no limit. */
const NO_LIMIT = 1e29;

/**
 * `templateFiles`: the chat templates of chat_template.jinja ("default") and
 * additional_chat_templates/; where given, they are the templates and the config's
 * chat_template is not read (transformers' order of precedence).
 */
export function parseTokenizerConfig(
  json: unknown,
  source = "tokenizer_config.json",
  templateFiles?: ReadonlyMap<string, string>,
): TokenizerConfig {
  if (!isObj(json)) {
    throw new MaskwiseError("tokenizer_config.json is not an object", {
      code: "E_TOKENIZER",
      where: source,
      hint: "check the file",
    });
  }
  const specialTokens: Record<string, string> = {};
  for (const [k, v] of Object.entries(json)) {
    const t = tokenOf(v);
    if (k.endsWith("_token") && t !== null) specialTokens[k] = t;
  }
  const chatTemplates = new Map<string, string>(templateFiles ?? []);
  const ct = templateFiles === undefined ? json.chat_template : undefined;
  if (typeof ct === "string") chatTemplates.set("default", ct);
  else if (Array.isArray(ct)) {
    for (const t of ct) {
      if (isObj(t) && typeof t.name === "string" && typeof t.template === "string")
        chatTemplates.set(t.name, t.template);
    }
  }
  const max = typeof json.model_max_length === "number" ? json.model_max_length : null;
  return {
    bosToken: tokenOf(json.bos_token),
    eosToken: tokenOf(json.eos_token),
    unkToken: tokenOf(json.unk_token),
    padToken: tokenOf(json.pad_token),
    specialTokens,
    addBosToken: typeof json.add_bos_token === "boolean" ? json.add_bos_token : null,
    addEosToken: typeof json.add_eos_token === "boolean" ? json.add_eos_token : null,
    modelMaxLength: max !== null && max < NO_LIMIT ? max : null,
    paddingSide: json.padding_side === "left" ? "left" : "right",
    truncationSide: json.truncation_side === "left" ? "left" : "right",
    cleanUpTokenizationSpaces: json.clean_up_tokenization_spaces === true,
    chatTemplates,
    raw: json,
  };
}

export interface ChatTemplateOptions {
  /** End with the opening of an assistant turn (transformers' add_generation_prompt). */
  addGenerationPrompt?: boolean;
  /** Which named template (default "default", or the only one there is). */
  name?: string;
  /** More variables for the template (tools, documents, date strings...). */
  extra?: Record<string, unknown>;
}

const compiled = new Map<string, Template>();

/**
 * Renders a conversation with the model's chat template, with the variables transformers passes:
 * messages, add_generation_prompt and the special tokens (bos_token, eos_token, ...);
 * @huggingface/jinja provides raise_exception itself.
 */
export function applyChatTemplate(
  config: TokenizerConfig,
  messages: readonly ChatMessage[],
  options: ChatTemplateOptions = {},
): string {
  const name =
    options.name ??
    (config.chatTemplates.has("default") ? "default" : [...config.chatTemplates.keys()][0]);
  const source = name === undefined ? undefined : config.chatTemplates.get(name);
  if (source === undefined) {
    throw new MaskwiseError(
      name === undefined
        ? "this tokenizer has no chat template"
        : `no chat template named "${name}"`,
      {
        code: "E_TOKENIZER",
        where: "tokenizer_config.json: chat_template",
        hint: "use a model directory whose tokenizer_config.json has a chat_template",
      },
    );
  }
  let template = compiled.get(source);
  if (template === undefined) {
    try {
      template = new Template(source);
    } catch (e) {
      throw new MaskwiseError(`chat template does not parse: ${(e as Error).message}`, {
        code: "E_TOKENIZER",
        where: "tokenizer_config.json: chat_template",
        hint: "fix the Jinja template",
      });
    }
    compiled.set(source, template);
  }
  try {
    return template.render({
      ...config.specialTokens,
      ...options.extra,
      messages,
      add_generation_prompt: options.addGenerationPrompt === true,
    });
  } catch (e) {
    if (e instanceof MaskwiseError) throw e;
    throw new MaskwiseError(`chat template failed: ${(e as Error).message}`, {
      code: "E_TOKENIZER",
      where: "tokenizer_config.json: chat_template",
      hint: "check the conversation's roles and fields against the template",
    });
  }
}
