// `maskwise data get NAME`: downloads a known dataset into the cache and prints its local paths.
import { DATASETS } from "../../data/datasets.js";
import { defaultCacheDir, getDataset } from "../../node/datasets.js";
import { MaskwiseError } from "../../util/errors.js";
import type { Command } from "../command.js";
import { parseFlags } from "../command.js";
import { VERSION } from "../version.js";

const NAME = "data get";

export const command: Command = {
  path: ["data", "get"],
  summary: "download a known dataset into the cache; print its paths",
  help: `Usage: maskwise data get NAME [--cache DIR] [--mirror URL] [--no-verify]

Downloads a dataset, unpacks it, checks every file's SHA-256, and prints the local paths, one a
line. Files already in the cache with the right checksum are not fetched again; an interrupted
download continues where it stopped when the command is run again.

Datasets:
${DATASETS.map((d) => `  ${d.name.padEnd(11)} ${d.description} (${d.licence})`).join("\n")}

Options:
  --cache DIR    the cache folder (default $MASKWISE_CACHE, else ~/.cache/maskwise); files go in DIR/NAME/
  --mirror URL   fetch the same paths from another server (e.g. a local copy)
  --no-verify    accept files whose checksum differs (the publisher has updated them)

Offline: put the unpacked files (e.g. train.de, val.en, cmn.txt) in the cache folder's NAME/
folder yourself; 'maskwise data get NAME' then checks them and prints their paths.`,
  async run(argv) {
    const { values, positionals } = parseFlags(
      NAME,
      argv,
      {
        cache: { type: "string" },
        mirror: { type: "string" },
        "no-verify": { type: "boolean" },
      },
      true,
    );
    if (positionals.length !== 1) {
      throw new MaskwiseError("give one dataset name", {
        code: "E_ARG",
        where: `maskwise ${NAME}`,
        hint: `choose one of ${DATASETS.map((d) => d.name).join(", ")}`,
      });
    }
    const tty = process.stderr.isTTY === true;
    const paths = await getDataset(positionals[0], {
      cacheDir: values.cache ?? defaultCacheDir(),
      mirror: values.mirror ?? process.env.MASKWISE_MIRROR,
      verify: values["no-verify"] !== true,
      userAgent: `maskwise/${VERSION}`,
      onProgress: tty
        ? (file, bytes, total) =>
            process.stderr.write(
              `\r${file}: ${(bytes / 1e6).toFixed(1)}${total ? ` / ${(total / 1e6).toFixed(1)}` : ""} MB`,
            )
        : undefined,
    });
    if (tty) process.stderr.write("\n");
    for (const p of paths) console.log(p);
    return 0;
  },
};
