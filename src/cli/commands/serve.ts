// `maskwise serve`: the browser inspector and its JSON API (see ../shared/CLI.md and
// src/node/server.ts).

import { modelDirArg } from "../../node/model-arg.js";
import { startServer } from "../../node/server.js";
import { MaskwiseError } from "../../util/errors.js";
import { type Command, numberFlag, parseFlags } from "../command.js";

const HELP = `Usage: maskwise serve --model DIR [--host 127.0.0.1] [--port P]

Serves the inspector page for an encoder-decoder model directory (config.json, model.safetensors,
tokenizer.json; a transformers directory with the tokenizer files it ships, Marian's
source.spm/target.spm + vocab.json too; or ORG/NAME, a model 'maskwise hub get' put in the
Hugging Face cache) and its JSON API, until interrupted:

  GET  /api/info       the model's config, special tokens and the API's limits
  POST /api/translate  {"text": …, "beam"?: K, "n_best"?: N, "max_length"?: M}
                       -> n-best translations with scores
  POST /api/inspect    {"text": …, "target": … | "target_ids": […], "pad_source_to"?: S}
                       -> token table, the three attention masks, attention weights per layer and head

The page shows the translation, the decoder inputs and labels, each attention's mask and weights
(cross-attention as the alignment), and a mask playground. --port 0 picks a free port; the URL
is printed on stdout. The API has no authentication: keep --host on a loopback address.`;

export const command: Command = {
  path: ["serve"],
  summary: "serve the browser inspector (translation, masks, attention) and a JSON API",
  help: HELP,
  async run(argv) {
    const cmd = "serve";
    const { values } = parseFlags(cmd, argv, {
      model: { type: "string" },
      host: { type: "string", default: "127.0.0.1" },
      port: { type: "string" },
    });
    if (!values.model) {
      throw new MaskwiseError("--model is required", {
        code: "E_ARG",
        where: "maskwise serve",
        hint: "pass a model directory, e.g. --model runs/en-de/checkpoints/best",
      });
    }
    // A hub name (ORG/NAME) that `maskwise hub get` downloaded resolves through the cache.
    values.model = modelDirArg(values.model);
    const port = numberFlag(cmd, "port", values.port, 7878, { min: 0, integer: true });
    if (port > 65535) {
      throw new MaskwiseError("--port must be at most 65535", {
        code: "E_ARG",
        where: `maskwise serve --port ${port}`,
      });
    }
    const host = values.host ?? "127.0.0.1";
    if (!["127.0.0.1", "localhost", "::1"].includes(host))
      console.error(`maskwise serve: warning: listening on ${host}; the API has no authentication`);
    const running = await startServer({ modelDir: values.model, host, port });
    console.log(`maskwise serve: ${running.url} (model ${values.model})`);
    await new Promise<void>((resolve) => {
      const stop = () => resolve();
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
    });
    await running.close();
    return 0;
  },
};
