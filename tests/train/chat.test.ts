// A chat session keeps its KV cache across turns and gives what recomputing the whole
// conversation gives (also when the history changed under it: the cache is cut where the
// tokens part); replies stream as text without broken characters; on both backends, for a
// GPT-2 and a Qwen2 (RoPE, grouped-query attention) chat model.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { loadChatModel } from "../../src/node/chat-data.js";
import { loadModelTokenizer } from "../../src/node/tokenizer-files.js";
import { TextStream } from "../../src/tokenizer/text-stream.js";
import { type ChatOptions, ChatSession } from "../../src/train/chat.js";
import { forEachBackend } from "../helpers/backends.js";
import { makeChatModelDir, QWEN_DIR, REF_TOKENIZERS } from "../helpers/chat-tokenizers.js";

const GREEDY: ChatOptions = {
  maxNewTokens: 10,
  temperature: 0,
  topK: 0,
  topP: 1,
  repetitionPenalty: 1.3,
  seed: 0,
};

forEachBackend("chat session", () => {
  for (const family of ["gpt2", "qwen2"] as const) describe(family, () => sessionCase(family));
});

function sessionCase(family: "gpt2" | "qwen2"): void {
  const { model, tok } = loadChatModel(makeChatModelDir(undefined, 3, family));

  test("later turns reuse the cache and reply as a fresh computation does", () => {
    const session = new ChatSession(model, tok, GREEDY);
    const users = ["Hi", "What is 2+2?", "And 3+3?"];
    users.forEach((u, k) => {
      const streamed: string[] = [];
      const reply = session.say(u, (p) => streamed.push(p));
      assert.equal(streamed.join(""), reply, "the streamed text is the reply");
      assert.ok(reply.length > 0);
      const fresh = new ChatSession(model, tok, GREEDY, session.messages.slice(0, -1)).reply();
      assert.equal(reply, fresh, `turn ${k}`);
      if (k > 0) {
        // At least the last turn's prompt came from the cache. (A random model's reply is often
        // not the tokenization its text gets in the next rendering; from there it is computed.)
        const prompt = tok.applyChatTemplate(session.messages.slice(0, -3), {
          addGenerationPrompt: true,
        });
        const n = tok.encode(prompt, { addSpecialTokens: false }).ids.length;
        const { reused } = session.lastTurn;
        assert.ok(reused >= n, `turn ${k}: ${reused} reused of the last prompt's ${n}`);
      }
    });
  });

  test("an edited history cuts the cache where the tokens part", () => {
    const session = new ChatSession(model, tok, GREEDY);
    session.say("Hi");
    const before = session.lastTurn.reused + session.lastTurn.computed;
    session.messages[1] = { role: "assistant", content: "Something else entirely." };
    const reply = session.say("And now?");
    const fresh = new ChatSession(model, tok, GREEDY, session.messages.slice(0, -1)).reply();
    assert.equal(reply, fresh);
    assert.ok(session.lastTurn.reused > 0 && session.lastTurn.reused < before);
  });

  test("sampling is fixed by the seed", () => {
    const sampled = { ...GREEDY, temperature: 1, topK: 50, topP: 0.9, seed: 7 };
    const a = new ChatSession(model, tok, sampled);
    const b = new ChatSession(model, tok, sampled);
    for (const u of ["Hi", "Tell me more"]) assert.equal(a.say(u), b.say(u));
    const c = new ChatSession(model, tok, { ...sampled, seed: 8 });
    assert.notEqual(
      c.say("Hi") + c.say("Tell me more"),
      a.messages[1].content + a.messages[3].content,
    );
  });
}

test("streamed text never splits a character, and adds up to the whole decode", () => {
  const text = "Grüße 👩‍👩‍👧 你好，世界！ naïve café ½ 🇩🇪";
  for (const dir of [QWEN_DIR, `${REF_TOKENIZERS}/llama_spm_bpe`]) {
    const tok = loadModelTokenizer(dir);
    const ids = tok.encode(text, { addSpecialTokens: false }).ids;
    const decode = (t: readonly number[]) => tok.decode(t, { skipSpecialTokens: true });
    // Some characters take several tokens here (byte-level pieces, byte fallback).
    assert.ok(
      ids.some((id) => decode([id]).includes("\uFFFD")),
      dir,
    );
    const stream = new TextStream(decode);
    const pieces = ids.map((id) => stream.push(id));
    pieces.push(stream.flush());
    for (const p of pieces) assert.ok(!p.includes("\uFFFD"), `${dir}: ${JSON.stringify(p)}`);
    assert.equal(pieces.join(""), decode(ids), dir);
  }
});
