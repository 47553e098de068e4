// Regenerates the generated parts of docs/ from the code (run by `npm run docs` after a build). Each part sits
// between `<!-- NAME:start ... -->` and `<!-- NAME:end -->` markers; test/docs/generated.test.ts checks that
// they are current.
const fs = require('node:fs');
const path = require('node:path');
const { GENERATED } = require('../dist/generated-docs');

const root = path.join(__dirname, '..');
for (const part of GENERATED) {
  const file = path.join(root, part.file);
  const text = fs.readFileSync(file, 'utf8');
  const pattern = new RegExp(`(<!-- ${part.marker}:start[^>]*-->\\n)[\\s\\S]*?(<!-- ${part.marker}:end -->)`);
  if (!pattern.test(text)) throw new Error(`${part.file} has no ${part.marker} markers`);
  fs.writeFileSync(
    file,
    text.replace(pattern, (_, start, end) => `${start}${part.generate()}\n${end}`),
  );
  console.log(`${part.file}: ${part.marker} updated`);
}
