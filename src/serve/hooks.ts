// The webhooks the catalog declares (`triggers: { NAME: { webhook: ... } }`), ready for the ingress: each
// hook name is one URL with the triggers behind it, each knowing its SOP, its compiled webhook spec and how
// a delivery becomes a run request. A name is one trigger's, except the GitHub App's shared hook `github`
// (SHARED_HOOK), which any number of triggers across SOPs declare with one secret.
import type { EnvName } from '../config/env';
import { triggerRunRequest } from '../shapes/trigger-request';
import { SHARED_HOOK, type TriggerSpec } from '../shapes/triggers';
import { Catalog } from '../sop/catalog';
import { planFromBundle } from '../sop/plan-from-bundle';
import type { HookGroup, WebhookHook } from './ingress';

/** The variable holding the shared hook's secret when no trigger declares the hook (review events only). */
const SHARED_HOOK_SECRET_ENV: EnvName = 'SOP_GITHUB_WEBHOOK_SECRET';

export interface LoadedHooks {
  hooks: Map<string, HookGroup>;
  /** hooks declared twice: one line each */
  problems: string[];
  /** SOPs that do not compile (their webhooks, if any, are not served): one line each */
  broken: string[];
}

/**
 * Every webhook trigger of the catalog of `projectDir` (its sops/, and the shipped SOPs). The shared hook
 * `github` is always served: review events on a run's pull request reach the run through it even when no
 * trigger declares it (its secret then in SOP_GITHUB_WEBHOOK_SECRET).
 */
export function loadHooks(options: { projectDir: string }): LoadedHooks {
  const catalog = new Catalog({ projectDir: options.projectDir });
  const hooks = new Map<string, HookGroup>();
  const problems: string[] = [];
  const broken: string[] = [];
  for (const entry of catalog.entries) {
    const compiled = catalog.compile(entry);
    if (!compiled.bundle) {
      broken.push(
        `${entry.name} does not compile (run sop validate ${entry.dir}); its webhooks are not served`,
      );
      continue;
    }
    const plan = planFromBundle(compiled.bundle);
    for (const trigger of plan.triggers ?? []) {
      if (trigger.kind !== 'webhook') continue;
      const name = trigger.webhook.hook;
      const hook = hookOf(trigger, trigger.webhook, catalog.projectDir);
      const taken = hooks.get(name);
      if (!taken) {
        hooks.set(name, { name, shared: name === SHARED_HOOK, spec: trigger.webhook, triggers: [hook] });
      } else if (!taken.shared) {
        problems.push(
          `webhook ${name} is declared by ${taken.triggers[0].sop} and ${entry.name}; ${entry.name}'s is not served (rename one)`,
        );
      } else if (taken.spec.secretEnv !== trigger.webhook.secretEnv) {
        problems.push(
          `webhook ${name} is verified with ${taken.spec.secretEnv}, but ${entry.name}.${trigger.name} names ${trigger.webhook.secretEnv}; ${entry.name}.${trigger.name} is not served (use one secret_env)`,
        );
      } else taken.triggers.push(hook);
    }
  }
  if (!hooks.has(SHARED_HOOK)) {
    hooks.set(SHARED_HOOK, {
      name: SHARED_HOOK,
      shared: true,
      spec: { secretEnv: SHARED_HOOK_SECRET_ENV, signature: 'github' },
      triggers: [],
    });
  }
  return { hooks, problems, broken };
}

function hookOf(trigger: TriggerSpec, spec: WebhookHook['spec'], projectDir: string): WebhookHook {
  return {
    name: spec.hook,
    sop: trigger.sop,
    trigger: trigger.name,
    spec,
    request: (delivery) =>
      triggerRunRequest(
        trigger,
        {
          payload: delivery.payload,
          webhook: { name: delivery.hook, delivery: delivery.delivery, event: delivery.event },
        },
        { projectDir },
      ),
  };
}
