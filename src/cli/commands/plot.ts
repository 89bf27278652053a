// `maskwise plot RUN_DIR [--out FILE.svg|FILE.png]`: draws the training curves of any run
// directory from its metrics.jsonl (the same chart training keeps up to date beside the log).
import { existsSync, statSync } from "node:fs";
import { extname, join } from "node:path";
import { atomicWrite } from "../../node/files.js";
import { readMetrics, runName } from "../../node/run-store.js";
import { curvesPng, curvesSvg } from "../../train/curves.js";
import { MaskwiseError } from "../../util/errors.js";
import { type Command, parseFlags } from "../command.js";

const NAME = "plot";
const HELP = `Usage: maskwise plot RUN_DIR [--out FILE.svg|FILE.png]

Draws the curves of a run directory's metrics.jsonl: the training loss (raw and smoothed), the
validation loss, the learning rate and each validation metric logged (BLEU, ROUGE, MLM
accuracy), against the update step. Steps logged twice (a resumed run) keep their last value;
values that are not finite numbers are left out.

Without --out, writes RUN_DIR/curves.svg and RUN_DIR/curves.png (training keeps these up to
date after every evaluation). With --out, writes that one file, SVG or PNG by its extension.
Prints the paths written.`;

export const command: Command = {
  path: [NAME],
  summary: "draw a run directory's training curves (SVG and PNG)",
  help: HELP,
  async run(argv) {
    const { values: v, positionals } = parseFlags(NAME, argv, { out: { type: "string" } }, true);
    if (positionals.length !== 1) {
      throw new MaskwiseError(
        positionals.length === 0 ? "RUN_DIR is required" : "give one RUN_DIR",
        { code: "E_ARG", where: "maskwise plot", hint: "see 'maskwise plot --help'" },
      );
    }
    const dir = positionals[0];
    if (!existsSync(dir) || !statSync(dir).isDirectory()) {
      throw new MaskwiseError("run directory not found", {
        code: "E_FILE",
        where: dir,
        hint: "give the --out folder of a training run",
      });
    }
    if (!existsSync(join(dir, "metrics.jsonl"))) {
      throw new MaskwiseError("no metrics.jsonl in the run directory", {
        code: "E_FILE",
        where: dir,
        hint: "give the --out folder of a training run that has logged at least one step",
      });
    }
    let targets: [string, "svg" | "png"][];
    if (v.out !== undefined) {
      const ext = extname(v.out).toLowerCase();
      if (ext !== ".svg" && ext !== ".png") {
        throw new MaskwiseError("--out must end in .svg or .png", {
          code: "E_ARG",
          where: `maskwise plot --out ${v.out}`,
          hint: "e.g. --out curves.png",
        });
      }
      targets = [[v.out, ext === ".svg" ? "svg" : "png"]];
    } else {
      targets = [
        [join(dir, "curves.svg"), "svg"],
        [join(dir, "curves.png"), "png"],
      ];
    }
    const records = readMetrics(dir);
    if (records.length === 0) {
      throw new MaskwiseError("metrics.jsonl has no records", {
        code: "E_INPUT",
        where: join(dir, "metrics.jsonl"),
        hint: "train for at least one logged step first",
      });
    }
    const title = runName(dir);
    for (const [path, format] of targets) {
      atomicWrite(path, format === "svg" ? curvesSvg(records, title) : curvesPng(records, title));
      console.log(path);
    }
    return 0;
  },
};
