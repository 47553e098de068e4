import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DEFAULT_PRICES, priceUsage } from '../../src/shapes/pricing';
import { loadPriceTable } from '../../src/sop/prices';

const file = (name: string, text: string) => {
  const f = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'sop-prices-')), name);
  fs.writeFileSync(f, text);
  return f;
};

test('Codex usage is priced per model: uncached input, cached input and output at their own rates', () => {
  const table = { m: { input: 2, cached_input: 0.5, output: 10 } };
  // 1M input of which 400k cached, 100k output: 0.6*2 + 0.4*0.5 + 0.1*10 = 2.4 USD
  expect(priceUsage('m', { input: 1_000_000, cachedInput: 400_000, output: 100_000 }, table)).toBe(2.4);
  expect(priceUsage('unknown-model', { input: 1, cachedInput: 0, output: 1 }, table)).toBeUndefined();
});

test('SOP_PRICES overrides the built-in table per model; a bad file names the key and the shape', () => {
  const custom = file(
    'prices.yaml',
    'gpt-5.5: { input: 3, output: 30 }\nmy-model: { input: 1, output: 1 }\n',
  );
  const table = loadPriceTable({ SOP_PRICES: custom });
  expect(table['gpt-5.5']).toEqual({ input: 3, output: 30 });
  expect(table['my-model']).toEqual({ input: 1, output: 1 });
  expect(table['gpt-5.5-mini']).toEqual(DEFAULT_PRICES['gpt-5.5-mini']);
  const bad = file('bad.yaml', 'gpt-5.5: { input: cheap, output: 1 }\n');
  expect(() => loadPriceTable({ SOP_PRICES: bad })).toThrow(
    /SOP_PRICES=.*bad\.yaml: gpt-5\.5\.input: .*USD per million tokens/,
  );
  expect(() => loadPriceTable({ SOP_PRICES: '/nonexistent/prices.yaml' })).toThrow(
    /cannot read the price table/,
  );
});
