// Parses KQL with Microsoft's Kusto.Language (npm @kusto/language-service-next, the C# parser
// compiled to JavaScript with Bridge.NET), offline.
// usage: node kql_parse_runner.cjs TOOLS_DIR < {"name": "query", ...}
// Prints {"version": "...", "diagnostics": {"name": ["<offset>: <message>", ...]}}: syntax only
// (KustoCode.Parse, no schema), so unknown tables and columns are not reported.
"use strict";
const fs = require("node:fs");
const path = require("node:path");

const pkg = path.resolve(process.argv[2], "node_modules", "@kusto", "language-service-next");
global.Bridge = require(path.join(pkg, "bridge.min.js"));
require(path.join(pkg, "Kusto.Language.Bridge.min.js"));
const K = global.Kusto.Language;

const queries = JSON.parse(fs.readFileSync(0, "utf8"));
const diagnostics = {};
for (const [name, text] of Object.entries(queries)) {
  const found = K.KustoCode.Parse(text).GetDiagnostics();
  diagnostics[name] = [];
  for (let i = 0; i < found.Count; i++) {
    const d = found.getItem(i);
    diagnostics[name].push(`${d.Start}: ${d.Message}`);
  }
}
process.stdout.write(JSON.stringify({ version: require(path.join(pkg, "package.json")).version, diagnostics }));
