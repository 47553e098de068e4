#!/usr/bin/env node

// Thin shell: the compiled CLI lives in dist/ (built by `npm run build`, which `npm ci` runs via `prepare`).
const path = require('node:path');
const fs = require('node:fs');
const entry = path.join(__dirname, '..', 'dist', 'cli', 'main.js');
if (!fs.existsSync(entry)) {
  process.stderr.write(
    `error: ${entry} is missing\nhint: run \`npm run build\` in ${path.dirname(__dirname)}\n`,
  );
  process.exit(1);
}
require(entry)
  .main(process.argv)
  .then((code) => process.exit(code));
