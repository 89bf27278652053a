// `maskwise hub get ORG/NAME`: downloads a model repository into the Hugging Face cache and
// prints its snapshot folder.
import { hubCacheDir, hubDownload } from "../../node/hub.js";
import { MaskwiseError } from "../../util/errors.js";
import type { Command } from "../command.js";
import { parseFlags } from "../command.js";
import { VERSION } from "../version.js";

const NAME = "hub get";

export const command: Command = {
  path: ["hub", "get"],
  summary: "download a model repository from the Hugging Face Hub into its cache",
  help: `Usage: maskwise hub get ORG/NAME [--revision R] [--cache DIR] [--include GLOB…] [--exclude GLOB…] [--all]

Downloads the files of a model repository at a revision (a branch, tag or commit; default main)
into the Hugging Face cache, and prints the snapshot folder, which any maskwise command that takes
a model folder accepts. transformers and huggingface_hub use the same cache, so each download is
shared with them:

  <cache>/models--ORG--NAME/refs/<revision>            the commit the revision points at
  <cache>/models--ORG--NAME/blobs/<etag>               the files' bytes
  <cache>/models--ORG--NAME/snapshots/<commit>/<path>  links to the blobs

Each file is checked before it is kept: its size, and its SHA-256 (large LFS files) or git blob
hash (small files) against the hub's etag. Files already in the cache are not fetched again, and
an interrupted download continues where it stopped when the command is run again.

Weights for other frameworks (.h5, .msgpack, .onnx, .tflite, .ot, .gguf, Core ML, and the onnx/,
coreml/, openvino/ folders) are skipped, and so are PyTorch *model*.bin files (and their index)
when the repository has safetensors weights, as transformers prefers those. --all fetches
everything.

Options:
  --revision R   branch, tag or commit (default main)
  --include GLOB only files matching GLOB (repeatable; * and ? within a folder, ** across
                 folders; a pattern without / matches a file name in any folder)
  --exclude GLOB skip files matching GLOB (repeatable)
  --all          no default skipping
  --cache DIR    the cache folder (default $HF_HUB_CACHE, else $HF_HOME/hub, else
                 ~/.cache/huggingface/hub)

Environment:
  HF_TOKEN       an access token, sent as "Authorization: Bearer <token>" (private or gated models)
  HF_ENDPOINT    the hub's address (default https://huggingface.co), e.g. a mirror
  HF_HUB_OFFLINE 1: never ask the hub; print the cached snapshot or fail

Offline: once downloaded, ORG/NAME is found in the cache without the network, and when the hub
cannot be reached, the cached snapshot of the revision is printed.`,
  async run(argv) {
    const { values, positionals } = parseFlags(
      NAME,
      argv,
      {
        revision: { type: "string" },
        cache: { type: "string" },
        include: { type: "string", multiple: true },
        exclude: { type: "string", multiple: true },
        all: { type: "boolean" },
      },
      true,
    );
    if (positionals.length !== 1) {
      throw new MaskwiseError("give one model repository", {
        code: "E_ARG",
        where: `maskwise ${NAME}`,
        hint: "e.g. 'maskwise hub get facebook/bart-base'",
      });
    }
    const tty = process.stderr.isTTY === true;
    const snapshot = await hubDownload(positionals[0], {
      revision: values.revision,
      include: values.include,
      exclude: values.exclude,
      all: values.all === true,
      cacheDir: values.cache ?? hubCacheDir(),
      userAgent: `maskwise/${VERSION}`,
      onProgress: tty
        ? (file, bytes, total) =>
            process.stderr.write(
              `\r${file}: ${(bytes / 1e6).toFixed(1)}${total ? ` / ${(total / 1e6).toFixed(1)}` : ""} MB\x1b[K`,
            )
        : undefined,
    });
    if (tty) process.stderr.write("\n");
    console.log(snapshot);
    return 0;
  },
};
