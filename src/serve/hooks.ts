// The webhooks the catalog declares (`triggers: { NAME: { webhook: ... } }`), ready for the ingress: each
// knows its SOP, its compiled webhook spec and how a delivery becomes a run request.
import { triggerRunRequest } from '../shapes/trigger-request';
import type { TriggerSpec } from '../shapes/triggers';
import { Catalog } from '../sop/catalog';
import { planFromBundle } from '../sop/plan-from-bundle';
import type { WebhookHook } from './ingress';

export interface LoadedHooks {
  hooks: Map<string, WebhookHook>;
  /** hooks declared twice: one line each */
  problems: string[];
  /** SOPs that do not compile (their webhooks, if any, are not served): one line each */
  broken: string[];
}

/** Every webhook trigger of the catalog of `projectDir` (its sops/, and the shipped SOPs). */
export function loadHooks(options: { projectDir: string }): LoadedHooks {
  const catalog = new Catalog({ projectDir: options.projectDir });
  const hooks = new Map<string, WebhookHook>();
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
      const taken = hooks.get(name);
      if (taken) {
        problems.push(
          `webhook ${name} is declared by ${taken.sop} and ${entry.name}; ${entry.name}'s is not served (rename one)`,
        );
        continue;
      }
      hooks.set(name, hookOf(trigger, trigger.webhook, catalog.projectDir));
    }
  }
  return { hooks, problems, broken };
}

function hookOf(trigger: TriggerSpec, spec: WebhookHook['spec'], projectDir: string): WebhookHook {
  return {
    name: spec.hook,
    sop: trigger.sop,
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
