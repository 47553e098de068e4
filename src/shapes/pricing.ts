// The price table Codex usage is priced from (Codex reports tokens but no cost; docs/harnesses.md says how
// usage is priced) and the lookup of one model's price. Loading a user's table (SOP_PRICES) is in
// src/sop/prices.ts.

import { z } from 'zod';

/** A model Codex knows: with unknown ids it falls back to a tool set without apply_patch. */
export const DEFAULT_CODEX_MODEL = 'gpt-5.5';

const ModelPrice = z.strictObject({
  input: z.number().min(0),
  cached_input: z.number().min(0).optional(),
  output: z.number().min(0),
});

export const PriceTable = z.record(z.string().min(1), ModelPrice);
export type PriceTable = z.infer<typeof PriceTable>;

/** The built-in rates: placeholders in USD per million tokens. */
export const DEFAULT_PRICES: PriceTable = {
  'gpt-5.5': { input: 1.25, cached_input: 0.125, output: 10 },
  'gpt-5.5-mini': { input: 0.25, cached_input: 0.025, output: 2 },
};

export interface TokenCounts {
  input: number;
  cachedInput: number;
  output: number;
}

/** Cost in USD; undefined when the model has no price (the evidence then says so). */
export function priceUsage(model: string, tokens: TokenCounts, table: PriceTable): number | undefined {
  const price = table[model];
  if (!price) return undefined;
  const cached = Math.min(tokens.cachedInput, tokens.input);
  const usd =
    ((tokens.input - cached) * price.input +
      cached * (price.cached_input ?? price.input) +
      tokens.output * price.output) /
    1_000_000;
  return Math.round(usd * 1e8) / 1e8;
}
