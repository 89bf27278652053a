// A checkpoint is replaced as a whole: a write that fails part way (as a process killed in the
// middle of one) leaves the previous checkpoint complete and unmixed, and a kill between the two
// renames of the swap is recovered from on the next read.
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, renameSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { DirectoryStore } from "../../src/node/run-store.js";
import { tempDir } from "../helpers/tmp.js";

const text = (b: Uint8Array | undefined) => new TextDecoder().decode(b);

test("a checkpoint write that fails part way leaves the old checkpoint whole", () => {
  const dir = join(tempDir("atomic"), "run");
  const store = new DirectoryStore(dir);
  store.writeCheckpoint("last", {
    "trainer_state.json": "step 4",
    "optimizer.safetensors": "adam 4",
    "model.safetensors": "weights 4",
  });
  // The second file cannot be written: the first one of step 8 already was, in the old scheme
  // beside step 4's model.
  const broken = {
    "trainer_state.json": "step 8",
    "optimizer.safetensors": 8 as unknown as string,
    "model.safetensors": "weights 8",
  };
  assert.throws(() => store.writeCheckpoint("last", broken), /cannot write checkpoint last/);
  const files = store.readCheckpoint("last");
  assert.equal(text(files?.["trainer_state.json"]), "step 4");
  assert.equal(text(files?.["optimizer.safetensors"]), "adam 4");
  assert.equal(text(files?.["model.safetensors"]), "weights 4");
  assert.deepEqual(readdirSync(join(dir, "checkpoints")), ["last"], "no partial folder left");
});

test("a kill between the swap's renames: the old checkpoint is put back", () => {
  const dir = join(tempDir("swap"), "run");
  const store = new DirectoryStore(dir);
  store.writeCheckpoint("last", { "model.safetensors": "weights 4", "trainer_state.json": "4" });
  const ckpt = join(dir, "checkpoints");
  renameSync(join(ckpt, "last"), join(ckpt, ".last.old"));
  const again = new DirectoryStore(dir);
  assert.equal(text(again.readCheckpoint("last")?.["trainer_state.json"]), "4");
  assert.ok(existsSync(join(ckpt, "last", "model.safetensors")));
  again.writeCheckpoint("last", { "model.safetensors": "weights 8", "trainer_state.json": "8" });
  assert.equal(readFileSync(join(ckpt, "last", "trainer_state.json"), "utf8"), "8");
  assert.deepEqual(readdirSync(ckpt), ["last"]);
});

test("nothing is created before the first write", () => {
  const dir = join(tempDir("lazy"), "run");
  new DirectoryStore(dir).finish();
  assert.ok(!existsSync(dir));
});
