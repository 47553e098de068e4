// Regenerates the generated parts of README.md from the code (run by `npm run docs` after a build).
const fs = require('node:fs');
const path = require('node:path');
const { diagnosticTable } = require('../dist/sop/diagnostics');

const readme = path.join(__dirname, '..', 'README.md');
const text = fs.readFileSync(readme, 'utf8');
const pattern = /(<!-- error-codes:start[^>]*-->\n)[\s\S]*?(<!-- error-codes:end -->)/;
if (!pattern.test(text)) throw new Error('README.md has no error-codes markers');
fs.writeFileSync(readme, text.replace(pattern, `$1${diagnosticTable()}\n$2`));
console.log('README.md: error-code table updated');

const { capabilityTable } = require('../dist/policies/capabilities');
const withCaps = fs.readFileSync(readme, 'utf8');
const caps = /(<!-- capabilities:start[^>]*-->\n)[\s\S]*?(<!-- capabilities:end -->)/;
fs.writeFileSync(readme, withCaps.replace(caps, `$1${capabilityTable()}\n$2`));
console.log('README.md: capability table updated');
