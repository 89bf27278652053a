// Which files of a hub repository `maskwise hub get` downloads. Model repositories often carry the
// same weights for several frameworks (TensorFlow .h5, Flax .msgpack, ONNX, Core ML, GGUF, rust
// .ot) and in two PyTorch formats; maskwise reads safetensors and PyTorch .bin only, and, like
// transformers, prefers safetensors when both are there. By default the rest is skipped;
// `all` keeps everything, and include/exclude globs choose by name.

/** Weights of other frameworks: never read by maskwise. */
const OTHER_FRAMEWORKS = [
  /\.(h5|msgpack|onnx|onnx_data|tflite|ot|mlmodel|gguf)$/,
  /^(onnx|coreml|openvino)\//,
];

/** PyTorch .bin weights (pytorch_model*.bin, adapter_model.bin, …) and their index. */
const TORCH_BIN = /(^|\/)[^/]*model[^/]*\.bin(\.index\.json)?$/;
const SAFETENSORS = /\.safetensors(\.index\.json)?$/;

/**
 * A glob as a RegExp over repository paths: `*` and `?` stay within one folder, `**` crosses
 * folders; a pattern without "/" matches a file's name in any folder.
 */
export function globToRegExp(glob: string): RegExp {
  let re = "";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === "*" && glob[i + 1] === "*") {
      re += ".*";
      i++;
      if (glob[i + 1] === "/") i++;
    } else if (c === "*") re += "[^/]*";
    else if (c === "?") re += "[^/]";
    else re += c.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(glob.includes("/") ? `^${re}$` : `(^|/)${re}$`);
}

export interface FileChoice {
  /** Keep every file (no default skipping). */
  all?: boolean;
  /** Keep only files matching one of these globs. */
  include?: string[];
  /** Drop files matching one of these globs. */
  exclude?: string[];
}

/** The files to download, in the order the hub listed them. */
export function chooseRepoFiles(files: readonly string[], choice: FileChoice = {}): string[] {
  let kept = [...files];
  if (!choice.all) {
    kept = kept.filter((f) => !OTHER_FRAMEWORKS.some((re) => re.test(f)));
    // Only .bin files that are weights count; safetensors present means the .bin copy is skipped.
    if (kept.some((f) => SAFETENSORS.test(f))) kept = kept.filter((f) => !TORCH_BIN.test(f));
  }
  if (choice.include?.length) {
    const res = choice.include.map(globToRegExp);
    kept = kept.filter((f) => res.some((re) => re.test(f)));
  }
  if (choice.exclude?.length) {
    const res = choice.exclude.map(globToRegExp);
    kept = kept.filter((f) => !res.some((re) => re.test(f)));
  }
  return kept;
}
