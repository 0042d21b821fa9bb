// Generates token_ids.json: token ids of the reference chat-template renderings
// (../templates/chat_templates.json) of the real Qwen3 and Llama-3 templates, computed by Hugging Face's JavaScript tokenizer
// implementation (@huggingface/tokenizers), independently of the Rust library im4j uses via DJL.
//
// How to run (from the repository root, after one `mvn -B -q -pl im-core verify` so that the
// tokenizer files are downloaded into im-core/target/tokenizers):
//
//   mkdir -p /tmp/hftok && (cd /tmp/hftok && npm init -y && npm install @huggingface/tokenizers@0.2.0)
//   NODE_PATH=/tmp/hftok/node_modules node --experimental-default-type=module \
//       im-core/src/test/resources/golden/tokens/generate.mjs
//
// Each rendering is encoded with add_special_tokens = false when it already starts with the
// tokenizer's BOS text, true otherwise: im4j's exactly-one-BOS rule. CI only reads the JSON.
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";

const require = createRequire(path.join(process.env.NODE_PATH || ".", "noop.js"));
const { Tokenizer } = require("@huggingface/tokenizers");

const here = path.dirname(new URL(import.meta.url).pathname);
const root = path.resolve(here, "../../../../../..");
const templates = JSON.parse(fs.readFileSync(path.join(here, "../templates/chat_templates.json"), "utf8"));

const tokenizers = {};
function tokenizer(model) {
  if (!tokenizers[model]) {
    const dir = path.join(root, "im-core/target/tokenizers", model, "package/models");
    const json = JSON.parse(fs.readFileSync(path.join(dir, "tokenizer.json"), "utf8"));
    const config = JSON.parse(fs.readFileSync(path.join(dir, "tokenizer_config.json"), "utf8"));
    const bos = typeof config.bos_token === "string" ? config.bos_token : config.bos_token?.content;
    tokenizers[model] = { tok: new Tokenizer(json, config), bos };
  }
  return tokenizers[model];
}

const cases = [];
for (const c of templates.cases.filter((c) => c.model === "qwen3" || c.model === "llama3")) {
  const { tok, bos } = tokenizer(c.model);
  const addSpecial = !(bos && c.text.startsWith(bos));
  const ids = tok.encode(c.text, { add_special_tokens: addSpecial }).ids;
  cases.push({ model: c.model, name: c.name, add_generation_prompt: c.add_generation_prompt, ids });
}
const out = {
  generator: "generate.mjs with @huggingface/tokenizers 0.2.0",
  source: "../templates/chat_templates.json",
  cases,
};
// One case per line keeps the file small and diffs readable.
const lines = cases.map((c) => "  " + JSON.stringify(c));
const text =
  "{\n" +
  ` "generator": ${JSON.stringify(out.generator)},\n` +
  ` "source": ${JSON.stringify(out.source)},\n` +
  ` "cases": [\n${lines.join(",\n")}\n ]\n}\n`;
fs.writeFileSync(path.join(here, "token_ids.json"), text);
console.log(`wrote ${cases.length} cases`);
