// Codex reports tokens but no cost (HARNESSES.md §4), so the runtime prices its usage from a table.
// The built-in rates are placeholders in USD per million tokens; a user with real rates sets
// SOP_PRICES to a JSON or YAML file { "<model>": { input, cached_input, output } } which wins per model,
// and a project's sop.config.yaml (providers.codex.prices, carried in the plan's roles) wins over both.

import * as fs from 'node:fs';
import { z } from 'zod';
import type { ExecutionPlan } from '../model/plan';
import { parseYamlText } from '../sop/yaml-source';

/** A model Codex knows: with unknown ids it falls back to a tool set without apply_patch. */
export const DEFAULT_CODEX_MODEL = 'gpt-5.5';

export const ModelPrice = z.strictObject({
  input: z.number().min(0),
  cached_input: z.number().min(0).optional(),
  output: z.number().min(0),
});
export type ModelPrice = z.infer<typeof ModelPrice>;

export const PriceTable = z.record(z.string().min(1), ModelPrice);
export type PriceTable = z.infer<typeof PriceTable>;

export const DEFAULT_PRICES: PriceTable = {
  'gpt-5.5': { input: 1.25, cached_input: 0.125, output: 10 },
  'gpt-5.5-mini': { input: 0.25, cached_input: 0.025, output: 2 },
};

/** The built-in table overlaid with the user's file named by SOP_PRICES (errors name the file and key). */
export function loadPriceTable(env: NodeJS.ProcessEnv = process.env): PriceTable {
  const file = env.SOP_PRICES;
  if (!file) return DEFAULT_PRICES;
  let data: unknown;
  try {
    data = parseYamlText(fs.readFileSync(file, 'utf8'), file);
  } catch (err) {
    throw new Error(`SOP_PRICES=${file}: cannot read the price table:\n${(err as Error).message}`);
  }
  const parsed = PriceTable.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(
      `SOP_PRICES=${file}: ${issue.path.join('.') || '(top level)'}: ${issue.message} ` +
        '(expected { "<model>": { input, cached_input, output } } in USD per million tokens)',
    );
  }
  return { ...DEFAULT_PRICES, ...parsed.data };
}

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

/** A Codex role of a plan whose model has no price. */
export interface UnpricedRole {
  step: string;
  role: 'agent' | 'producer' | 'verifier';
  model: string;
}

/**
 * The Codex roles whose model has no price, resolved as the worker of this process would resolve them
 * (SOP_CODEX_MODEL, SOP_PRICES): their usage would count as $0, which a max_usd budget cannot stop.
 */
export function unpricedCodexRoles(
  plan: ExecutionPlan,
  env: NodeJS.ProcessEnv = process.env,
): UnpricedRole[] {
  const table = loadPriceTable(env);
  const out: UnpricedRole[] = [];
  for (const step of plan.steps) {
    for (const role of ['agent', 'producer', 'verifier'] as const) {
      const spec = step[role];
      if (spec?.provider !== 'codex') continue;
      const model = spec.model ?? env.SOP_CODEX_MODEL ?? DEFAULT_CODEX_MODEL;
      if (!spec.prices?.[model] && !table[model]) out.push({ step: step.name, role, model });
    }
  }
  return out;
}
