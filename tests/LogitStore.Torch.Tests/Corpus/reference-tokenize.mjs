// Reference encoder for the tokenizer tests: transformers.js' tokenizers (the @lenml/tokenizers port).
// usage: node reference-tokenize.mjs <tokenizers folder> <checkpoint folder> <texts.json> <ids.json>
// texts.json is a JSON array of strings; ids.json receives, per text, {"plain": ids, "special": ids}: the ids of
// encode(text) without and with the tokenizer's own special tokens (BOS/EOS as its post-processor adds them).
import { readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

const [tokenizers, checkpoint, textsPath, idsPath] = process.argv.slice(2);
const entry = join(resolve(tokenizers), "node_modules/@lenml/tokenizers/dist/main.mjs");
const { TokenizerLoader } = await import(pathToFileURL(entry).href);
const readJson = (name) => JSON.parse(readFileSync(join(checkpoint, name), "utf8"));
const tokenizer = TokenizerLoader.fromPreTrained({
    tokenizerJSON: readJson("tokenizer.json"),
    tokenizerConfig: readJson("tokenizer_config.json"),
});
const texts = JSON.parse(readFileSync(textsPath, "utf8"));
const ids = texts.map((text) => ({
    plain: tokenizer.encode(text, { add_special_tokens: false }),
    special: tokenizer.encode(text, { add_special_tokens: true }),
}));
writeFileSync(idsPath, JSON.stringify(ids));
