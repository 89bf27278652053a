// `maskwise build-native`: compiles the native backend from the package's sources, for a
// platform without a prebuilt binary or one where the prebuild does not load.
import { spawnSync } from "node:child_process";
import { buildNative } from "../../node/native-build.js";
import type { Command } from "../command.js";
import { parseFlags } from "../command.js";

export const command: Command = {
  path: ["build-native"],
  summary: "compile the native backend from its sources (where no prebuild fits)",
  help: [
    "Usage: maskwise build-native",
    "",
    "Compiles the C++ addon from the sources the package carries (native/) with node-gyp, which",
    "needs Python 3 and a C++17 compiler, into build/Release/maskwise_native.node in the package.",
    "maskwise then loads that file before the prebuilt one of prebuilds/<platform>-<arch>/.",
    "Needed only where no prebuild fits this platform or the prebuild does not load; 'maskwise",
    "info' says which file is in use. Prints the compiled file's path.",
  ].join("\n"),
  // It makes the addon that MASKWISE_BACKEND=native asks for: no backend is chosen before it.
  backend: false,
  async run(argv) {
    parseFlags("build-native", argv, {});
    process.stderr.write("maskwise: compiling the native backend from native/ with node-gyp\n");
    const path = buildNative();
    // Loaded by a fresh process: this one may hold the file it replaced.
    const check = spawnSync(process.execPath, ["-e", `require(${JSON.stringify(path)})`], {
      encoding: "utf8",
    });
    if (check.status !== 0) {
      const why =
        check.stderr
          .trim()
          .split("\n")
          .find((l) => /Error/.test(l)) ?? check.stderr;
      console.error(
        `maskwise: the compiled ${path} does not load (${why.trim()}) (maskwise build-native): check the compiler messages above`,
      );
      return 1;
    }
    console.log(path);
    return 0;
  },
};
