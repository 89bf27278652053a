// `maskwise train --task chat`: what the command decides about its data. Each conversation is
// rendered with the model's chat template and labelled on the assistant's tokens only
// (objectives/chat.ts); conversations are then packed into rows of `pack` tokens (0: one a row),
// each keeping its own positions and, through the documents mask, its own attention.
import { type AttendMask, and, causal, documents } from "../attention/masks.js";
import {
  type ChatTokenizer,
  chatExample,
  learnableChatExample,
  packExamples,
} from "../objectives/chat.js";
import type { Example } from "../objectives/types.js";
import type { ChatMessage } from "../tokenizer/tokenizer-config.js";
import { MaskwiseError } from "../util/errors.js";

export interface ChatExampleOptions {
  /** Tokens per conversation at most (longer ones are cut). */
  maxLen: number;
  /** Tokens per packed row (0: no packing). */
  pack: number;
}

/**
 * Training rows of conversations (each with `where`, file:line, for errors). A conversation whose
 * assistant turns all start beyond `maxLen` tokens has nothing to learn from: it is left out and
 * `onSkipped` hears of it (as a fine-tuning run on real data expects a few overlong dialogues, and
 * one of them should not end the run); if every conversation is left out, that is an error.
 */
export function chatExamples(
  conversations: readonly { messages: readonly ChatMessage[]; where: string }[],
  tok: ChatTokenizer,
  o: ChatExampleOptions & { onSkipped?: (wheres: string[]) => void },
): Example[] {
  const examples: Example[] = [];
  const skipped: string[] = [];
  for (const c of conversations) {
    const e = learnableChatExample(tok, c.messages, { maxLen: o.maxLen });
    if (e === null) skipped.push(c.where);
    else examples.push({ input_ids: e.input_ids, labels: e.labels });
  }
  if (skipped.length > 0 && examples.length === 0) {
    // The first one's error, with its file and line.
    chatExample(tok, conversations[0].messages, {
      maxLen: o.maxLen,
      where: conversations[0].where,
    });
  }
  if (skipped.length > 0) o.onSkipped?.(skipped);
  return o.pack > 0 ? packExamples(examples, o.pack) : examples;
}

/** One training row of chat data as `masks show --chat` and the inspector draw it. */
export interface ChatRowView {
  ids: number[];
  /** The tokens' pieces (tokenizer.json's strings). */
  tokens: string[];
  /** What each position predicts (-100: no loss there). */
  labels: number[];
  position_ids: number[];
  document_ids: number[];
  /** causal & documents: which keys each query sees. */
  mask: AttendMask;
  /** Rows the data makes (conversations, or packed rows). */
  rows: number;
}

/** Row `row` of the training rows `chatExamples` makes of `conversations`. */
export function chatRowView(
  conversations: readonly { messages: readonly ChatMessage[]; where: string }[],
  tok: ChatTokenizer & { idToToken(id: number): string | undefined },
  o: ChatExampleOptions & { row: number; where?: string },
): ChatRowView {
  const rows = chatExamples(conversations, tok, o);
  const e = rows[o.row];
  if (e === undefined) {
    throw new MaskwiseError(
      `there is no row ${o.row}: the data makes ${rows.length} ${o.pack > 0 ? "packed rows" : "rows (one a conversation)"}`,
      {
        code: "E_ARG",
        where: o.where ?? "chat data",
        hint: `pick a row from 0 to ${rows.length - 1}`,
      },
    );
  }
  const position_ids = e.position_ids ?? e.input_ids.map((_, t) => t);
  const document_ids = e.document_ids ?? e.input_ids.map(() => 0);
  return {
    ids: e.input_ids,
    tokens: e.input_ids.map((id) => tok.idToToken(id) ?? `<${id}>`),
    labels: e.labels,
    position_ids,
    document_ids,
    mask: and(causal(), documents(document_ids)),
    rows: rows.length,
  };
}
