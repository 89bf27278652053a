// A tiny encoder-decoder model directory for tests that need a real one on disk: a random model
// (saved as `maskwise train` saves one) and a BPE tokenizer trained on a few lines.
import { resolveConfig } from "../../src/models/config.js";
import { EncoderDecoderModel } from "../../src/models/encoder-decoder.js";
import { saveModel, saveTokenizer } from "../../src/node/model-dir.js";
import { trainTokenizer } from "../../src/tokenizer/index.js";
import { tempDir } from "./tmp.js";

export const TINY_LINES = [
  "a small dog runs in the park",
  "the cat sleeps on a red chair",
  "two men play football in the rain",
  "ein kleiner hund läuft im park",
  "die katze schläft auf einem roten stuhl",
  "zwei männer spielen fußball im regen",
];

/** Writes config.json, model.safetensors and tokenizer.json into a fresh folder; returns it. */
export function makeTinyModelDir(seed = 7): string {
  const dir = tempDir("tiny");
  const tokenizer = trainTokenizer(TINY_LINES, { vocabSize: 90 });
  // fairseq order from the tokenizer: <s>=0, <pad>=1, </s>=2; decoding starts from </s> as in BART.
  const config = resolveConfig({
    vocab_size: tokenizer.vocabSize,
    d_model: 32,
    encoder_layers: 2,
    decoder_layers: 2,
    encoder_attention_heads: 2,
    decoder_attention_heads: 2,
    encoder_ffn_dim: 64,
    decoder_ffn_dim: 64,
    max_position_embeddings: 128,
    // A wider init than training uses, so a random model's attention is not flat.
    init_std: 0.3,
    bos_token_id: 0,
    pad_token_id: 1,
    eos_token_id: 2,
    decoder_start_token_id: 2,
  });
  saveModel(dir, new EncoderDecoderModel(config, seed));
  saveTokenizer(dir, tokenizer);
  return dir;
}
