// The price table a worker prices Codex usage with (its shape and the built-in rates: src/shapes/pricing.ts).
// A user with real rates sets SOP_PRICES to a JSON or YAML file { "<model>": { input, cached_input, output } }
// which wins per model, and a project's sop.config.yaml (providers.codex.prices, carried in the plan's roles)
// wins over both.

import * as fs from 'node:fs';
import type { ExecutionPlan } from '../shapes/execution-plan';
import { DEFAULT_CODEX_MODEL, DEFAULT_PRICES, PriceTable } from '../shapes/pricing';
import { parseYamlText } from './yaml-source';

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
