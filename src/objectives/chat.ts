// Supervised fine-tuning on conversations (chat SFT) for a decoder-only model: a conversation
// rendered with the model's chat template and tokenized as one text, as transformers'
// apply_chat_template(tokenize=True) does (no special tokens added: the template writes them),
// with labels only where the assistant speaks; several conversations packed into one row.
//
//   ids     <|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello<|im_end|>\n
//   labels  -100 … -100 (the user's turn, the generation prompt)  Hello<|im_end|>  -100
//
// A token is the assistant's when its first character lies in an assistant span
// (tokenizer/chat-spans.ts); labels are aligned with positions (labels[t] is what position t
// predicts, the next token), so position t carries a label when token t + 1 is the assistant's.
// Tokenizing the whole text once, not turn by turn, keeps the ids the template's text gives, which
// are the ids the model reads when it chats.
import { packDocuments } from "../data/packing.js";
import { type AssistantSpans, assistantSpans } from "../tokenizer/chat-spans.js";
import type { ChatMessage, TokenizerConfig } from "../tokenizer/tokenizer-config.js";
import { MaskwiseError } from "../util/errors.js";
import { type Example, IGNORE } from "./types.js";

/** What chat examples need of a tokenizer (a ModelTokenizer has it). */
export interface ChatTokenizer {
  readonly config: TokenizerConfig | null;
  /** Offsets [start, end) in Unicode code points of the text. */
  encode(
    text: string,
    options: { addSpecialTokens?: boolean },
  ): { ids: number[]; offsets: [number, number][] };
}

export interface ChatExample extends Example {
  /** Whether each token is the assistant's (what labels[t - 1] predicts). */
  assistant: boolean[];
  /** The rendered text and its assistant spans. */
  rendered: AssistantSpans;
}

/** The template config of a tokenizer that must have one. */
export function chatConfig(tok: Pick<ChatTokenizer, "config">): TokenizerConfig {
  if (tok.config === null || tok.config.chatTemplates.size === 0) {
    throw new MaskwiseError("the tokenizer has no chat template", {
      code: "E_TOKENIZER",
      where: "tokenizer_config.json: chat_template",
      hint: "use a model directory whose tokenizer_config.json has a chat_template",
    });
  }
  return tok.config;
}

/** UTF-16 offsets -> code point offsets of `text` (an array one longer than the text). */
function codePointIndex(text: string): Int32Array {
  const at = new Int32Array(text.length + 1);
  let cp = 0;
  for (let i = 0; i < text.length; i++) {
    at[i] = cp;
    const c = text.charCodeAt(i);
    // A high surrogate and the low one after it are one code point.
    if (!(c >= 0xd800 && c < 0xdc00 && i + 1 < text.length)) cp++;
  }
  at[text.length] = cp;
  return at;
}

/**
 * One conversation as a training example, cut to `maxLen` tokens (0: not cut). Errors name
 * `where` (the file and line); so does the one for a conversation whose assistant turns all lie
 * beyond the cut (`learnableChatExample` gives null for it instead).
 */
export function chatExample(
  tok: ChatTokenizer,
  messages: readonly ChatMessage[],
  options: { maxLen?: number; template?: string; where?: string } = {},
): ChatExample {
  const e = learnableChatExample(tok, messages, options);
  if (e === null) {
    throw new MaskwiseError("no token of the assistant's turns is left to learn from", {
      code: "E_DATA",
      where: options.where ?? "conversation",
      hint: "raise --max-len, or shorten the conversation before its assistant turn",
    });
  }
  return e;
}

/**
 * `chatExample`, or null where the conversation has assistant turns but the cut to `maxLen`
 * left none of their tokens: nothing to learn from it.
 */
export function learnableChatExample(
  tok: ChatTokenizer,
  messages: readonly ChatMessage[],
  options: { maxLen?: number; template?: string } = {},
): ChatExample | null {
  const config = chatConfig(tok);
  const rendered = assistantSpans(config, messages, { name: options.template });
  const { text, spans } = rendered;
  const cp = codePointIndex(text);
  const cpSpans = spans.map(([a, b]) => [cp[a], cp[b]] as const);
  const enc = tok.encode(text, { addSpecialTokens: false });
  const inSpan = (start: number) => cpSpans.some(([a, b]) => start >= a && start < b);
  let ids = enc.ids;
  let assistant = enc.offsets.map(([s]) => inSpan(s));
  if (options.maxLen && ids.length > options.maxLen) {
    ids = ids.slice(0, options.maxLen);
    assistant = assistant.slice(0, options.maxLen);
  }
  const labels = ids.map((_, t) => (t + 1 < ids.length && assistant[t + 1] ? ids[t + 1] : IGNORE));
  if (spans.length > 0 && !assistant.some((a) => a)) return null;
  return { input_ids: ids, labels, assistant, rendered };
}

/**
 * Conversations packed end to end into rows of at most `rowLength` tokens, a conversation never
 * split across rows (one longer than a row is cut to it): positions restart at 0 and the
 * document id changes with each conversation, so with the documents mask each one is computed
 * as it would be alone. Rows hold real tokens only (collation pads them).
 */
export function packExamples(examples: readonly Example[], rowLength: number): Example[] {
  const cut = examples.map((e) => ({
    ids: e.input_ids.slice(0, rowLength),
    // A cut conversation's last label predicts a token no longer in the row: dropped.
    labels: e.labels
      .slice(0, rowLength)
      .map((l, t) => (t === rowLength - 1 && e.input_ids.length > rowLength ? IGNORE : l)),
  }));
  const options = { rowLength, split: false };
  // The same lengths pack the same way: ids and labels land in the same places.
  const ids = packDocuments(
    cut.map((c) => c.ids),
    { ...options, padId: 0 },
  );
  const labels = packDocuments(
    cut.map((c) => c.labels),
    { ...options, padId: IGNORE },
  );
  return ids.ids.map((row, r) => {
    const n = ids.lengths[r];
    return {
      input_ids: row.slice(0, n),
      labels: labels.ids[r].slice(0, n),
      position_ids: ids.positionIds[r].slice(0, n),
      document_ids: ids.segmentIds[r].slice(0, n),
    };
  });
}
