// Which repository files `maskwise hub get` fetches: other frameworks' weights skipped, the .bin
// copy skipped when safetensors are there, --all, and include/exclude globs.
import assert from "node:assert/strict";
import { test } from "node:test";
import { chooseRepoFiles, globToRegExp } from "../../src/node/hub-files.js";

// The file list of a typical model repository with weights for several frameworks.
const repo = [
  ".gitattributes",
  "README.md",
  "config.json",
  "model.safetensors",
  "pytorch_model.bin",
  "tf_model.h5",
  "flax_model.msgpack",
  "rust_model.ot",
  "onnx/model.onnx",
  "onnx/config.json",
  "coreml/fill-mask/float32_model.mlpackage/Manifest.json",
  "tokenizer.json",
  "training_args.bin",
];

test("by default: safetensors and the rest, no other frameworks, no .bin copy of the weights", () => {
  assert.deepEqual(chooseRepoFiles(repo), [
    ".gitattributes",
    "README.md",
    "config.json",
    "model.safetensors",
    "tokenizer.json",
    "training_args.bin",
  ]);
  assert.deepEqual(chooseRepoFiles(repo, { all: true }), repo);
});

test("a repository with only .bin weights keeps them, sharded ones with their index", () => {
  const binOnly = [
    "config.json",
    "pytorch_model-00001-of-00002.bin",
    "pytorch_model-00002-of-00002.bin",
    "pytorch_model.bin.index.json",
    "tf_model.h5",
  ];
  assert.deepEqual(chooseRepoFiles(binOnly), binOnly.slice(0, 4));
});

test("include and exclude globs", () => {
  assert.deepEqual(chooseRepoFiles(repo, { include: ["*.json"] }), [
    "config.json",
    "tokenizer.json",
  ]);
  assert.deepEqual(chooseRepoFiles(repo, { all: true, include: ["onnx/*"] }), [
    "onnx/model.onnx",
    "onnx/config.json",
  ]);
  assert.deepEqual(chooseRepoFiles(repo, { exclude: ["*.md", ".git*", "training_args.bin"] }), [
    "config.json",
    "model.safetensors",
    "tokenizer.json",
  ]);
  assert.ok(globToRegExp("**/*.json").test("coreml/a/b/Manifest.json"));
  assert.ok(globToRegExp("*.json").test("onnx/config.json"), "no / in the pattern: any folder");
  assert.ok(!globToRegExp("onnx/*.json").test("onnx/sub/config.json"), "* stays in one folder");
  assert.ok(globToRegExp("model-?????-of-*.safetensors").test("model-00001-of-00002.safetensors"));
  assert.ok(!globToRegExp("a.b").test("axb"), "dots are literal");
});
