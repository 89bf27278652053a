// Where the assistant's turns are in a conversation rendered with its chat template: the text a
// chat model must learn to produce (supervised fine-tuning puts the loss there and nowhere else).
//
// Two ways, in this order:
//   1. `{% generation %}…{% endgeneration %}` markers, where the template has them (transformers'
//      return_assistant_tokens_mask reads the same markers): the template's author says what the
//      assistant generates, and it holds even for templates that render a turn differently once
//      later turns follow (dropping an earlier turn's reasoning, say). The markers become
//      sentinel characters in the output, which are then removed and their places recorded.
//   2. Otherwise, prefixes: for assistant message k, the conversation up to k with the generation
//      prompt is exactly what the model reads before it answers, and the conversation up to and
//      including k is what it reads after; the text between is its answer. This needs no markers
//      (few templates have them) and relies only on what generation itself relies on: a turn,
//      once rendered, is rendered the same whatever follows. Where a template breaks that, the
//      renderings are not prefixes of each other, and that is an error naming the message rather
//      than a silently wrong label.
// A span ends right after the last eos token it holds: what follows the end-of-turn token (a
// newline before the next turn) is never generated, since generation stops at eos.
import { MaskwiseError } from "../util/errors.js";
import {
  applyChatTemplate,
  type ChatMessage,
  type ChatTemplateOptions,
  type TokenizerConfig,
} from "./tokenizer-config.js";

export interface AssistantSpans {
  /** The conversation rendered without a generation prompt. */
  text: string;
  /** [start, end) in UTF-16 code units of `text`, in order, not overlapping. */
  spans: [number, number][];
  /** How they were found. */
  method: "generation-markers" | "prefixes";
}

/** Noncharacters (never in interchanged text) that stand for the markers in the output. */
const OPEN = "\uFDD0";
const CLOSE = "\uFDD1";
const MARKER = /{%(-?)\s*(end)?generation\s*(-?)%}/;

function templateSource(config: TokenizerConfig, name?: string): string | undefined {
  const n =
    name ?? (config.chatTemplates.has("default") ? "default" : [...config.chatTemplates.keys()][0]);
  return n === undefined ? undefined : config.chatTemplates.get(n);
}

/** The text and its assistant spans; errors name the template and the message at fault. */
export function assistantSpans(
  config: TokenizerConfig,
  messages: readonly ChatMessage[],
  options: Pick<ChatTemplateOptions, "name" | "extra"> = {},
): AssistantSpans {
  const render = (m: readonly ChatMessage[], addGenerationPrompt: boolean) =>
    applyChatTemplate(config, m, { ...options, addGenerationPrompt });
  const text = render(messages, false);
  const source = templateSource(config, options.name);
  const hasSentinel = messages.some((m) => m.content.includes(OPEN) || m.content.includes(CLOSE));
  if (source !== undefined && MARKER.test(source) && !hasSentinel) {
    const marked = markedSpans(config, source, messages, options, text);
    return { text, spans: trimAtEos(text, marked, config.eosToken), method: "generation-markers" };
  }
  const spans: [number, number][] = [];
  messages.forEach((m, k) => {
    if (m.role !== "assistant") return;
    const before = render(messages.slice(0, k), true);
    const upto = render(messages.slice(0, k + 1), false);
    if (!upto.startsWith(before) || !text.startsWith(upto)) {
      throw new MaskwiseError(
        `the chat template renders the conversation before assistant message ${k} differently once that message follows, so its answer cannot be located`,
        {
          code: "E_TOKENIZER",
          where: `tokenizer_config.json: chat_template (messages[${k}])`,
          hint: "use a template whose turns render alike whatever follows, or one with {% generation %} markers around the assistant's text",
        },
      );
    }
    if (upto.length > before.length) spans.push([before.length, upto.length]);
  });
  return { text, spans: trimAtEos(text, spans, config.eosToken), method: "prefixes" };
}

/** The spans between generation markers, in the text rendered without them. */
function markedSpans(
  config: TokenizerConfig,
  source: string,
  messages: readonly ChatMessage[],
  options: Pick<ChatTemplateOptions, "name" | "extra">,
  plain: string,
): [number, number][] {
  // Each marker becomes an output tag with the same whitespace control, printing a sentinel.
  const rewritten = source.replace(
    new RegExp(MARKER.source, "g"),
    (_, l: string, end: string | undefined, r: string) => `{{${l} "${end ? CLOSE : OPEN}" ${r}}}`,
  );
  const name = options.name ?? "default";
  const marked = applyChatTemplate(
    { ...config, chatTemplates: new Map([[name, rewritten]]) },
    messages,
    { ...options, name, addGenerationPrompt: false },
  );
  const spans: [number, number][] = [];
  let out = "";
  let open = -1;
  for (const ch of marked) {
    if (ch === OPEN || ch === CLOSE) {
      if ((ch === OPEN) !== open < 0) {
        throw new MaskwiseError("the chat template's generation markers do not pair up", {
          code: "E_TOKENIZER",
          where: "tokenizer_config.json: chat_template",
          hint: "close every {% generation %} with {% endgeneration %} before the next one",
        });
      }
      if (ch === OPEN) open = out.length;
      else {
        if (out.length > open) spans.push([open, out.length]);
        open = -1;
      }
    } else out += ch;
  }
  if (out !== plain || open >= 0) {
    throw new MaskwiseError("the chat template renders differently with its generation markers", {
      code: "E_TOKENIZER",
      where: "tokenizer_config.json: chat_template",
      hint: "keep {% generation %} and {% endgeneration %} outside expressions and other tags",
    });
  }
  return spans;
}

/** Each span cut right after the last eos token it holds (when it holds one). */
function trimAtEos(
  text: string,
  spans: readonly [number, number][],
  eos: string | null,
): [number, number][] {
  if (!eos) return [...spans];
  return spans.map(([a, b]) => {
    const at = text.lastIndexOf(eos, b - eos.length);
    return at >= a ? [a, at + eos.length] : [a, b];
  });
}
