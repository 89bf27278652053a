// The table of `maskwise` subcommands. Each entry loads its module only when it runs, so
// `maskwise --help` stays fast and one command's dependencies never slow another.
import type { Command } from "../command.js";

export interface CommandEntry {
  path: string[];
  summary: string;
  load: () => Promise<Command>;
}

export const commands: CommandEntry[] = [
  {
    path: ["masks", "show"],
    summary: "draw an attention mask (ascii, json, svg, png)",
    load: async () => (await import("./masks-show.js")).command,
  },
  {
    path: ["bench", "matmul"],
    summary: "benchmark the native GEMM against the cores' measured FMA peak",
    load: async () => (await import("./bench-matmul.js")).command,
  },
  {
    path: ["bench", "attention"],
    summary: "benchmark fused mask-aware attention (forward + backward)",
    load: async () => (await import("./bench-attention.js")).command,
  },
  {
    path: ["bench", "train-step"],
    summary: "benchmark one training step of the reference model",
    load: async () => (await import("./bench-train-step.js")).command,
  },
  {
    path: ["bench", "decode"],
    summary: "benchmark greedy and beam-5 decoding on the KV cache",
    load: async () => (await import("./bench-decode.js")).command,
  },
  {
    path: ["convert"],
    summary: "rewrite a model directory as transformers' from_pretrained loads it",
    load: async () => (await import("./convert.js")).command,
  },
  {
    path: ["lora", "merge"],
    summary: "merge a LoRA adapter (PEFT's format) into its base model; write a model directory",
    load: async () => (await import("./lora-merge.js")).command,
  },
  {
    path: ["forward"],
    summary: "run a saved model on given ids; write logits and loss",
    load: async () => (await import("./forward.js")).command,
  },
  {
    path: ["eval", "bleu"],
    summary: "corpus BLEU exactly as sacreBLEU (13a, intl, zh, char, none)",
    load: async () => (await import("./eval.js")).bleuCommand,
  },
  {
    path: ["eval", "chrf"],
    summary: "chrF and chrF++ exactly as sacreBLEU",
    load: async () => (await import("./eval.js")).chrfCommand,
  },
  {
    path: ["eval", "rouge"],
    summary: "ROUGE-1/2/L exactly as rouge-score (optionally Porter-stemmed)",
    load: async () => (await import("./eval.js")).rougeCommand,
  },
  {
    path: ["tokenizer", "train"],
    summary: "train a BPE or WordPiece tokenizer on text files; write tokenizer.json",
    load: async () => (await import("./tokenizer-train.js")).command,
  },
  {
    path: ["tokenizer", "encode"],
    summary:
      "encode stdin lines to token ids with a tokenizer.json, .model file or model directory",
    load: async () => (await import("./tokenizer-encode.js")).command,
  },
  {
    path: ["tokenizer", "decode"],
    summary: "decode lines of token ids on stdin back to text",
    load: async () => (await import("./tokenizer-decode.js")).command,
  },
  {
    path: ["tokenizer", "chat"],
    summary: "render conversations (JSONL) with a model's chat template",
    load: async () => (await import("./tokenizer-chat.js")).command,
  },
  {
    path: ["data", "get"],
    summary: "download a known dataset into the cache; print its paths",
    load: async () => (await import("./data-get.js")).command,
  },
  {
    path: ["hub", "get"],
    summary: "download a model repository from the Hugging Face Hub into its cache",
    load: async () => (await import("./hub.js")).command,
  },
  {
    path: ["quickstart"],
    summary:
      "train a translator (Chinese-English from the package, or Multi30k) and report its BLEU",
    load: async () => (await import("./quickstart.js")).command,
  },
  {
    path: ["train"],
    summary: "train or fine-tune a model; write a run directory",
    load: async () => (await import("./train.js")).command,
  },
  {
    path: ["pretrain"],
    summary: "self-supervised pretraining (mlm, span, infill, mass, clm); write a run directory",
    load: async () => (await import("./pretrain.js")).command,
  },
  {
    path: ["translate"],
    summary: "translate stdin lines to stdout lines with a saved model",
    load: async () => (await import("./translate.js")).command,
  },
  {
    path: ["serve"],
    summary: "serve the browser inspector (translation, masks, attention) and a JSON API",
    load: async () => (await import("./serve.js")).command,
  },
  {
    path: ["generate"],
    summary: "continue stdin prompts with a decoder-only model",
    load: async () => (await import("./generate.js")).command,
  },
  {
    path: ["chat"],
    summary: "talk with a chat model (template applied, replies streamed)",
    load: async () => (await import("./chat.js")).command,
  },
  {
    path: ["average"],
    summary: "average the weights of checkpoints of one model into a model directory",
    load: async () => (await import("./average.js")).command,
  },
  {
    path: ["plot"],
    summary: "draw a run directory's training curves (SVG and PNG)",
    load: async () => (await import("./plot.js")).command,
  },
  {
    path: ["build-native"],
    summary: "compile the native backend from its sources (where no prebuild fits)",
    load: async () => (await import("./build-native.js")).command,
  },
  {
    path: ["info"],
    summary: "show the version, the active backend and its threads",
    load: async () => (await import("./info.js")).command,
  },
];
