// `maskwise train --task chat`: supervised fine-tuning of a decoder-only model on conversations
// (JSON lines of {"messages":[…]}), rendered with the model's chat template, with the loss on
// the assistant's tokens only and several conversations packed into a row (src/train/chat-task.ts).
// The tokenizer and its template come from --init-from (or --tokenizer DIR) and are copied into
// every checkpoint as they are, so `maskwise chat --model DIR/checkpoints/best` has them.

import { existsSync } from "node:fs";
import { join } from "node:path";
import { familyOf } from "../../models/registry.js";
import { chatCheckpointFiles, readConversations } from "../../node/chat-data.js";
import { readText } from "../../node/files.js";
import { loadModelTokenizer } from "../../node/tokenizer-files.js";
import {
  dataFlagsToSave,
  type Flags,
  intFlag,
  type RunDir,
  required,
  resumeDataFlags,
  runFamily,
  runModel,
  runSeed,
  trainerOptions,
} from "../../node/train-run.js";
import { safetensorsMetadata, tokenizerHash } from "../../node/training-setup.js";
import { chatConfig } from "../../objectives/chat.js";
import { chatExamples } from "../../train/chat-task.js";
import { MaskwiseError } from "../../util/errors.js";
import { progress } from "../timing.js";
import { trainToEnd } from "../train-to-end.js";

const DATA_FLAGS = ["train", "valid"];

export const CHAT_HELP = `  chat            a decoder-only model on conversations: JSON lines of {"messages":[{"role":…,
                  "content":…},…]}, rendered with the chat template of the model's
                  tokenizer_config.json (--init-from DIR, or --tokenizer DIR); the loss is on
                  the assistant's tokens only; conversations are packed --pack tokens a row
                  (default --max-len; 0: one a row), each attending only to itself with its
                  positions from 0; evaluation: valid_loss`;

export async function trainChat(run: RunDir, flags: Flags): Promise<number> {
  resumeDataFlags(run, flags, DATA_FLAGS);
  required(run.command, flags, ["train", "valid"]);
  const was = run.saved.data ?? {};
  const init = flags["init-from"] as string | undefined;
  const tokDir = run.resume ? run.lastDir : ((flags.tokenizer as string | undefined) ?? init);
  if (tokDir === undefined) {
    throw new MaskwiseError("--task chat needs a tokenizer with a chat template", {
      code: "E_ARG",
      where: "maskwise train --task chat",
      hint: "pass --init-from DIR (a chat model's directory), or --tokenizer DIR with tokenizer.json and tokenizer_config.json",
    });
  }
  const tok = loadModelTokenizer(tokDir);
  chatConfig(tok);
  // Weights saved with a tokenizer's hash (maskwise's checkpoints) take that tokenizer only.
  const bound = init
    ? safetensorsMetadata(join(init, "model.safetensors")).tokenizer_sha256
    : undefined;
  const tokJson = join(tokDir, "tokenizer.json");
  if (
    bound !== undefined &&
    existsSync(tokJson) &&
    tokenizerHash(readText(tokJson, "tokenizer.json")) !== bound
  ) {
    throw new MaskwiseError(`${tokJson} is not the tokenizer ${init} was trained with`, {
      code: "E_TOKENIZER",
      where: "--tokenizer with --init-from",
      hint: "drop --tokenizer: a fine-tuned model keeps the tokenizer it was trained with",
    });
  }
  const seed = runSeed(run, flags);
  const maxLen =
    flags["max-len"] === undefined && typeof was.maxLen === "number"
      ? was.maxLen
      : intFlag(run.command, flags, "max-len", 256, 4);
  const pack =
    flags.pack === undefined && typeof was.pack === "number"
      ? was.pack
      : intFlag(run.command, flags, "pack", maxLen, 0);

  const train = await readConversations(flags.train as string);
  const valid = await readConversations(flags.valid as string);
  if (valid.length === 0) {
    throw new MaskwiseError("the validation data is empty", {
      code: "E_DATA",
      where: String(flags.valid),
      hint: "give validation conversations: evaluation, checkpoints/best and --patience need them",
    });
  }
  progress(`train: ${train.length} training conversations, ${valid.length} validation ones`);

  const family = runFamily(run, flags, { task: "chat" }, "maskwise train --arch");
  // A new maskwise model takes its special ids from the tokenizer's <pad>, <s> and </s>; a chat
  // tokenizer names its own in tokenizer_config.json (pad and bos falling back to eos).
  const config = tok.config;
  const named: Record<string, string | null | undefined> = {
    "<pad>": config?.padToken ?? config?.eosToken,
    "<s>": config?.bosToken ?? config?.eosToken,
    "</s>": config?.eosToken,
  };
  const ids = {
    vocabSize: tok.vocabSize,
    tokenToId: (t: string) => tok.tokenToId(t) ?? tok.tokenToId(named[t] ?? t),
  };
  const model = runModel(run, flags, ids, family, seed);
  if (familyOf(model.config).structure !== "decoder-only") {
    throw new MaskwiseError(`a ${familyOf(model.config).name} model does not chat`, {
      code: "E_ARG",
      where: "maskwise train --task chat",
      hint: "start from a decoder-only model (--init-from DIR)",
    });
  }
  if (tok.vocabSize > model.config.vocab_size) {
    throw new MaskwiseError(
      `the tokenizer has ${tok.vocabSize} tokens, more than the model's ${model.config.vocab_size}`,
      {
        code: "E_TOKENIZER",
        where: tokDir,
        hint: "use the tokenizer of the model directory",
      },
    );
  }
  const options = trainerOptions(run, flags, seed, {
    // Supervised fine-tuning learns the answers as written: no smoothing unless asked.
    labelSmoothing: 0,
    mask: "causal",
    data: { task: "chat", maxLen, pack, ...dataFlagsToSave(flags, DATA_FLAGS) },
  });
  // Conversations whose assistant turns lie beyond --max-len are left out, said once per file.
  const skippedNote = (wheres: string[]) =>
    console.error(
      `maskwise: left out ${wheres.length} conversation${wheres.length === 1 ? "" : "s"} whose assistant turns start after --max-len ${maxLen} tokens (${wheres.slice(0, 3).join(", ")}${wheres.length > 3 ? ", ..." : ""})`,
    );
  const exampleOptions = { maxLen, pack, onSkipped: skippedNote };
  const trainEx = chatExamples(train, tok, exampleOptions);
  const validEx = chatExamples(valid, tok, exampleOptions);
  progress(`train: ${trainEx.length} training rows, ${validEx.length} validation rows`);

  return trainToEnd(
    run,
    "train",
    model,
    { train: trainEx, valid: validEx },
    options,
    chatCheckpointFiles(tokDir, run.resume ? run.lastDir : init),
  );
}
