// The supervised text tasks of `maskwise train`: how a (source, target) text pair becomes a
// training example for a model of a given structure, and what validation reports beside the loss
// (BLEU for translation, ROUGE for summaries). The CLI reads files and flags; this decides.
//
//   encoder-decoder: source </s> -> encoder; target </s> -> labels (decoder inputs by shifting)
//   decoder-only:    "<s> text </s>" as a causal LM, or "<s> source </s> target </s>" with the
//                    source as a prefix (only the target predicted; attention by DecoderMask)
import { corpusBleu } from "../eval/bleu.js";
import { corpusRouge } from "../eval/rouge.js";
import type { ModelConfig } from "../models/config.js";
import type { EncoderDecoderModel } from "../models/encoder-decoder.js";
import type { Structure } from "../models/family.js";
import type { DecoderOnlyDecodable } from "../models/incremental.js";
import { causalLM, prefixLM, seq2seq } from "../objectives/lm.js";
import type { Example } from "../objectives/types.js";
import { continuePrompts } from "./generate.js";
import type { DecoderMask, TrainableModel } from "./tasks.js";
import { type TextCodec, translateLines } from "./translate.js";

export const TEXT_TASKS = ["translation", "summarization", "dialogue", "qa", "lm"] as const;
export type TextTask = (typeof TEXT_TASKS)[number];

/** Default fields of each fielded task (JSON lines; TSV files default to columns 0 and 1). */
export const TASK_FIELDS: Record<
  Exclude<TextTask, "translation">,
  { source: string; target?: string }
> = {
  summarization: { source: "document", target: "summary" },
  dialogue: { source: "dialogue", target: "summary" },
  qa: { source: "question,context", target: "answer" },
  lm: { source: "text" },
};

/** A source text and its target (null: a text without a target, the lm task's causal LM). */
export type TextPair = readonly [string, string | null];

export interface TextExampleOptions {
  task: TextTask;
  structure: Structure;
  /** Tokens per sequence at most. */
  maxLen: number;
  /** Training pairs of translation longer than maxLen are dropped, not cut. */
  training: boolean;
}

/** The training examples of text pairs for a model of `structure`. */
export function textExamples(
  pairs: readonly TextPair[],
  tok: Pick<TextCodec, "encode" | "encodeTarget">,
  cfg: ModelConfig,
  o: TextExampleOptions,
): Example[] {
  const { maxLen } = o;
  // A target through the target side where the codec has one (Marian's target.spm).
  const encodeTarget = (t: string) => (tok.encodeTarget ? tok.encodeTarget(t) : tok.encode(t));
  return pairs.flatMap(([s, t]): Example[] => {
    const src = tok.encode(s);
    const tgt = t === null ? null : encodeTarget(t);
    if (o.task === "translation") {
      if (o.training && (src.length + 1 > maxLen || (tgt?.length ?? 0) + 1 > maxLen)) return [];
      return [seq2seq(src, tgt ?? [], { eos: cfg.eos_token_id })];
    }
    if (o.structure === "encoder-decoder") {
      return [
        seq2seq(src.slice(0, maxLen - 1), (tgt ?? []).slice(0, maxLen - 1), {
          eos: cfg.eos_token_id,
        }),
      ];
    }
    return [conditionalLM(src, tgt, cfg, maxLen)];
  });
}

/**
 * A decoder-only example: "<s> text </s>" as a causal LM, or "<s> source </s> target </s>" with
 * the source (and its </s>) as the prefix, cut to `maxLen` (the target keeps up to half). With
 * `promptOnly`, just the prompt "<s> source </s>" that generation continues.
 */
export function conditionalLM(
  src: number[],
  tgt: number[] | null,
  cfg: ModelConfig,
  maxLen: number,
  promptOnly = false,
): Example {
  const { bos_token_id: bos, eos_token_id: eos } = cfg;
  if (tgt === null && !promptOnly) return causalLM([bos, ...src.slice(0, maxLen - 2), eos]);
  const t = (tgt ?? []).slice(0, Math.floor(maxLen / 2) - 1);
  const s = src.slice(0, Math.max(1, maxLen - 3 - t.length));
  if (promptOnly) return { input_ids: [bos, ...s, eos], labels: [] };
  return prefixLM([bos, ...s, eos, ...t, eos], s.length + 2);
}

export interface TextEvaluationOptions {
  task: TextTask;
  structure: Structure;
  /** Validation pairs decoded for BLEU or ROUGE. */
  sample: readonly (readonly [string, string])[];
  maxLen: number;
  /** Generated summaries may be this long (the longest training target, within maxLen). */
  maxTarget: number;
  mask: DecoderMask;
  noRepeatNgramSize: number;
}

/**
 * Validation metrics beyond the loss: valid_bleu for translation (greedy), valid_rouge1/2/L
 * (rouge-score F1 x 100) for summarization and dialogue; nothing for the other tasks.
 */
export function textEvaluator(
  tok: TextCodec,
  o: TextEvaluationOptions,
): (m: TrainableModel) => Record<string, number> {
  const { sample, maxLen, maxTarget, noRepeatNgramSize } = o;
  const sources = sample.map(([s]) => s);
  const refs = [sample.map(([, t]) => t)];
  return (m): Record<string, number> => {
    if (sample.length === 0) return {};
    if (o.task === "translation") {
      const hyps = translateLines(m as EncoderDecoderModel, tok, sources, {
        noRepeatNgramSize,
      }).map((h) => h[0].text);
      return { valid_bleu: corpusBleu(hyps, refs).score };
    }
    if (o.task !== "summarization" && o.task !== "dialogue") return {};
    const hyps =
      o.structure === "encoder-decoder"
        ? translateLines(m as EncoderDecoderModel, tok, sources, {
            maxLenA: 0,
            maxLenB: maxTarget,
            maxSourceLength: maxLen,
            noRepeatNgramSize,
          }).map((h) => h[0].text)
        : continuePrompts(
            m as unknown as DecoderOnlyDecodable,
            tok,
            sources.map(
              (s) => conditionalLM(tok.encode(s), null, m.config, maxLen, true).input_ids,
            ),
            { mask: o.mask, maxNewTokens: maxTarget, noRepeatNgramSize },
          );
    const r = corpusRouge(hyps, refs).mean;
    return {
      valid_rouge1: 100 * r.rouge1.fmeasure,
      valid_rouge2: 100 * r.rouge2.fmeasure,
      valid_rougeL: 100 * r.rougeL.fmeasure,
    };
  };
}
