"""Converts a maskwise encoder-decoder checkpoint into a CTranslate2 model, for
bench/translate-compare.ts.

A maskwise model directory (config.json, model.safetensors, tokenizer.json: what `maskwise train`
and `quickstart` save as RUN/checkpoints/best) is written as CTranslate2's TransformerSpec
directly, through ctranslate2.specs, without an intermediate framework:

  - token embeddings, scaled by sqrt(d_model) when the config's scale_embedding says so;
  - the sinusoid position table given explicitly (maskwise's formula, computed in float64 and
    rounded to float32 like src/nn/positions.ts; row p is position p, the first token's
    position is 0 in both), so CTranslate2 never computes its own;
  - pre-norm layers with the stacks' final layer norms (post-norm configs convert too);
  - q, k and v fused into one product for self-attention, k and v for cross-attention (the
    layout CTranslate2 multiplies by), biases included;
  - the output projection (lm_head, the decoder's embedding when tied) with its bias
    (final_logits_bias);
  - one vocabulary for both sides: row i is the tokenizer's token of id i (tokenizer.json's
    model.vocab and added_tokens), a placeholder "<maskwise:i>" for a row no token names, so
    ids map to CTranslate2's tokens one to one. bench/ctranslate2/translate.py goes through the
    same list.

Runs with the Python that has ctranslate2 (bench/ctranslate2/build.sh builds one):

  /work/ct2/venv/bin/python bench/ctranslate2/convert.py RUN/checkpoints/best OUT_DIR \
      [--quantization int8|float32] [--force]
"""

import argparse
import json
import os
import shutil
import struct
import sys

import numpy as np

try:
    from ctranslate2.specs import common_spec, transformer_spec
except ImportError:
    sys.exit(
        "convert.py: ctranslate2 is not importable (python): run it with the venv "
        "bench/ctranslate2/build.sh made, e.g. /work/ct2/venv/bin/python"
    )

ME = "convert.py"


def fail(what, where, todo):
    sys.exit(f"{ME}: {what} ({where}): {todo}")


def read_safetensors(path):
    """name -> float32 ndarray, from a safetensors file (8-byte header length, JSON, data)."""
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        lo, hi = info["data_offsets"]
        raw = data[lo:hi]
        dtype = info["dtype"]
        if dtype == "F32":
            a = np.frombuffer(raw, dtype="<f4")
        elif dtype == "F16":
            a = np.frombuffer(raw, dtype="<f2").astype(np.float32)
        elif dtype == "BF16":
            a = (np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
        else:
            fail(f"tensor {name} has dtype {dtype}", path, "convert float checkpoints only")
        out[name] = a.reshape(info["shape"]).copy()
    return out


def read_weights(model_dir):
    single = os.path.join(model_dir, "model.safetensors")
    if os.path.exists(single):
        return read_safetensors(single)
    index = os.path.join(model_dir, "model.safetensors.index.json")
    if not os.path.exists(index):
        fail("no model.safetensors", model_dir, "pass a model directory, e.g. RUN/checkpoints/best")
    with open(index, encoding="utf-8") as f:
        shards = sorted(set(json.load(f)["weight_map"].values()))
    weights = {}
    for shard in shards:
        weights.update(read_safetensors(os.path.join(model_dir, shard)))
    return weights


def sinusoid_table(rows, d, layout):
    """[rows, d] float32: row p encodes position p as src/nn/positions.ts does."""
    pairs = (d + 1) // 2
    freq = 10000.0 ** (-(2.0 * np.arange(pairs, dtype=np.float64)) / d)
    angle = np.arange(rows, dtype=np.float64)[:, None] * freq[None, :]
    table = np.zeros((rows, d), dtype=np.float64)
    if layout == "halves":
        half = d // 2
        table[:, :half] = np.sin(angle[:, :half])
        cos_cols = min(pairs, d - half)
        table[:, half : half + cos_cols] = np.cos(angle[:, :cos_cols])
    else:
        table[:, 0::2] = np.sin(angle)
        table[:, 1::2] = np.cos(angle[:, : d // 2])
    return table.astype(np.float32)


def vocabulary(model_dir, size):
    """The token of each id 0..size-1 (unique strings), from tokenizer.json."""
    path = os.path.join(model_dir, "tokenizer.json")
    if not os.path.exists(path):
        fail("no tokenizer.json", model_dir, "convert a maskwise model directory")
    with open(path, encoding="utf-8") as f:
        tok = json.load(f)
    tokens = [None] * size
    vocab = (tok.get("model") or {}).get("vocab") or {}
    if isinstance(vocab, list):  # Unigram: [[piece, score], ...]
        vocab = {piece: i for i, (piece, _score) in enumerate(vocab)}
    for piece, i in vocab.items():
        if 0 <= i < size:
            tokens[i] = piece
    for added in tok.get("added_tokens") or []:
        if 0 <= added["id"] < size:
            tokens[added["id"]] = added["content"]
    seen = set()
    for i, piece in enumerate(tokens):
        if piece is None or piece in seen:
            tokens[i] = f"<maskwise:{i}>"
        seen.add(tokens[i])
    unk = (tok.get("model") or {}).get("unk_token")
    return tokens, unk


def set_linear(spec, w, prefix, bias=True):
    spec.weight = w[f"{prefix}.weight"]
    if bias and f"{prefix}.bias" in w:
        spec.bias = w[f"{prefix}.bias"]


def set_fused(spec, w, prefixes):
    """One product for several projections: weights stacked on the output axis."""
    spec.weight = np.concatenate([w[f"{p}.weight"] for p in prefixes], axis=0)
    biases = [f"{p}.bias" in w for p in prefixes]
    if any(biases):
        spec.bias = np.concatenate(
            [
                w[f"{p}.bias"] if has else np.zeros(w[f"{p}.weight"].shape[0], np.float32)
                for p, has in zip(prefixes, biases)
            ]
        )


def set_norm(spec, w, prefix):
    spec.gamma = w[f"{prefix}.weight"]
    spec.beta = w[f"{prefix}.bias"]


def set_ffn(spec, w, prefix):
    set_norm(spec.layer_norm, w, f"{prefix}.final_layer_norm")
    set_linear(spec.linear_0, w, f"{prefix}.fc1")
    set_linear(spec.linear_1, w, f"{prefix}.fc2")


def set_self_attention(spec, w, prefix):
    set_fused(spec.linear[0], w, [f"{prefix}.{p}" for p in ("q_proj", "k_proj", "v_proj")])
    set_linear(spec.linear[1], w, f"{prefix}.out_proj")


def set_cross_attention(spec, w, prefix):
    set_linear(spec.linear[0], w, f"{prefix}.q_proj")
    set_fused(spec.linear[1], w, [f"{prefix}.{p}" for p in ("k_proj", "v_proj")])
    set_linear(spec.linear[2], w, f"{prefix}.out_proj")


ACTIVATIONS = {
    "relu": common_spec.Activation.RELU,
    "gelu": common_spec.Activation.GELU,
    "gelu_new": common_spec.Activation.GELUTanh,
    "silu": common_spec.Activation.SWISH,
}


def build_spec(model_dir):
    with open(os.path.join(model_dir, "config.json"), encoding="utf-8") as f:
        cfg = json.load(f)
    where = os.path.join(model_dir, "config.json")
    arch = cfg.get("maskwise_arch", "encoder-decoder")
    if arch != "encoder-decoder":
        fail(f"maskwise_arch is {arch}", where, "convert a maskwise encoder-decoder model")
    # maskwise's defaults (src/models/config.ts) for keys a config.json leaves out.
    get = lambda key, default: cfg.get(key, default)  # noqa: E731
    d = get("d_model", 256)
    heads = get("encoder_attention_heads", 4)
    if get("decoder_attention_heads", 4) != heads:
        fail("encoder and decoder head counts differ", where, "TransformerSpec takes one count")
    if get("position_embedding", "sinusoidal") != "sinusoidal":
        fail("learned positions", where, "this converter writes sinusoid tables only")
    if get("type_vocab_size", 0) != 0:
        fail("token types", where, "a translation model has none")
    pre_norm = get("normalize_before", True)
    layernorm_embedding = get("layernorm_embedding", False)
    V = get("vocab_size", 8000)

    w = read_weights(model_dir)
    enc_emb = w.get("model.encoder.embed_tokens.weight", w.get("model.shared.weight"))
    dec_emb = w.get("model.decoder.embed_tokens.weight", enc_emb)
    if enc_emb is None:
        fail("no model.encoder.embed_tokens.weight", model_dir, "is this a maskwise checkpoint?")
    head = w.get("lm_head.weight", dec_emb)
    if get("tie_word_embeddings", True):
        head = dec_emb
    bias = w.get("final_logits_bias")

    spec = transformer_spec.TransformerSpec.from_config(
        (get("encoder_layers", 3), get("decoder_layers", 3)),
        heads,
        pre_norm=pre_norm,
        activation=ACTIVATIONS[get("activation_function", "relu")],
        layernorm_embedding=layernorm_embedding,
    )
    positions = sinusoid_table(
        get("max_position_embeddings", 1024), d, get("sinusoid_layout", "interleaved")
    )
    # Multiplying by sqrt(d_model) or not: CTranslate2 takes a bool (sqrt of the depth) or a float.
    scale = bool(get("scale_embedding", True))
    for stack, emb, name in (
        (spec.encoder, enc_emb, "model.encoder"),
        (spec.decoder, dec_emb, "model.decoder"),
    ):
        embeddings = stack.embeddings[0] if isinstance(stack.embeddings, list) else stack.embeddings
        embeddings.weight = emb
        stack.scale_embeddings = scale
        stack.position_encodings.encodings = positions
        if pre_norm:
            set_norm(stack.layer_norm, w, f"{name}.layer_norm")
        if layernorm_embedding:
            set_norm(stack.layernorm_embedding, w, f"{name}.layernorm_embedding")
    for i, layer in enumerate(spec.encoder.layer):
        p = f"model.encoder.layers.{i}"
        set_self_attention(layer.self_attention, w, f"{p}.self_attn")
        set_norm(layer.self_attention.layer_norm, w, f"{p}.self_attn_layer_norm")
        set_ffn(layer.ffn, w, p)
    for i, layer in enumerate(spec.decoder.layer):
        p = f"model.decoder.layers.{i}"
        set_self_attention(layer.self_attention, w, f"{p}.self_attn")
        set_norm(layer.self_attention.layer_norm, w, f"{p}.self_attn_layer_norm")
        set_cross_attention(layer.attention, w, f"{p}.encoder_attn")
        set_norm(layer.attention.layer_norm, w, f"{p}.encoder_attn_layer_norm")
        set_ffn(layer.ffn, w, p)
    spec.decoder.projection.weight = head
    if bias is not None:
        spec.decoder.projection.bias = bias.reshape(-1)

    tokens, unk = vocabulary(model_dir, V)
    spec.register_source_vocabulary(tokens)
    spec.register_target_vocabulary(tokens)
    config = spec.config
    config.layer_norm_epsilon = float(get("layer_norm_eps", 1e-5))
    config.bos_token = tokens[get("bos_token_id", 1)]
    config.eos_token = tokens[get("eos_token_id", 2)]
    config.decoder_start_token = tokens[get("decoder_start_token_id", 1)]
    # The unknown token must be one of the rows, or CTranslate2 appends one (V + 1 rows).
    config.unk_token = unk if unk in tokens else tokens[get("pad_token_id", 0)]
    # The source's eos is passed explicitly by translate.py, as maskwise appends it.
    config.add_source_bos = False
    config.add_source_eos = False
    return spec


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model_dir", help="maskwise model directory (config.json, model.safetensors)")
    ap.add_argument("out_dir", help="CTranslate2 model directory to write")
    ap.add_argument("--quantization", choices=["float32", "int8"], default="float32")
    ap.add_argument("--force", action="store_true", help="replace out_dir if it exists")
    a = ap.parse_args()
    if os.path.exists(a.out_dir) and not a.force:
        fail("the output directory exists", a.out_dir, "pass --force to replace it")
    spec = build_spec(a.model_dir)
    spec.validate()
    spec.optimize(quantization=a.quantization)
    tmp = a.out_dir.rstrip("/") + ".tmp"
    if os.path.exists(tmp):
        shutil.rmtree(tmp)
    os.makedirs(tmp)
    spec.save(tmp)
    if os.path.exists(a.out_dir):
        shutil.rmtree(a.out_dir)
    os.rename(tmp, a.out_dir)
    print(json.dumps({"model": a.model_dir, "out": a.out_dir, "quantization": a.quantization}))


if __name__ == "__main__":
    main()
