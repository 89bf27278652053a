// `maskwise tokenizer chat`: renders conversations with a model's chat template
// (tokenizer_config.json), one {"messages":[...]} JSON object per stdin line in, one JSON string
// per line out.
import { linesOf } from "../../node/lines.js";
import { loadModelTokenizer } from "../../node/tokenizer-files.js";
import { parseConversation } from "../../tokenizer/chat-messages.js";
import { MaskwiseError } from "../../util/errors.js";
import type { Command } from "../command.js";
import { parseFlags } from "../command.js";

const NAME = "tokenizer chat";

export const command: Command = {
  path: ["tokenizer", "chat"],
  summary: "render conversations (JSONL) with a model's chat template",
  help: `Usage: maskwise tokenizer chat --tokenizer DIR [--add-generation-prompt] < conversations.jsonl

Renders each {"messages":[{"role":...,"content":...},...]} line with the chat template of the
model's tokenizer_config.json, as transformers' apply_chat_template(tokenize=False) does, and
writes the text as one JSON string per line.

Options:
  --tokenizer DIR            a model directory with tokenizer_config.json
  --add-generation-prompt    end with the opening of the assistant's turn`,
  async run(argv) {
    const { values } = parseFlags(NAME, argv, {
      tokenizer: { type: "string" },
      "add-generation-prompt": { type: "boolean" },
    });
    if (values.tokenizer === undefined) {
      throw new MaskwiseError("--tokenizer is required", {
        code: "E_ARG",
        where: `maskwise ${NAME}`,
        hint: "give the model directory that holds tokenizer_config.json",
      });
    }
    const tok = loadModelTokenizer(values.tokenizer);
    const addGenerationPrompt = values["add-generation-prompt"] === true;
    let out = "";
    for await (const line of linesOf(process.stdin, "<stdin>")) {
      if (line.text.trim() === "") continue;
      const messages = parseConversation(line.text, `<stdin>:${line.n}`);
      out += `${JSON.stringify(tok.applyChatTemplate(messages, { addGenerationPrompt }))}\n`;
    }
    await new Promise<void>((resolve) => process.stdout.write(out, () => resolve()));
    return 0;
  },
};
