// The triggers the catalog declares: every SOP compiled (with the event graph across them), each trigger
// with the SOP's bundle hash and a hash of what it would create, so `sop triggers sync` and `sop doctor`
// can tell a Schedule or sensor that matches the catalog from one that is out of date.

import { createHash } from 'node:crypto';
import type { Diagnostic } from '../shapes/diagnostics';
import type { TriggerSpec } from '../shapes/triggers';
import type { Catalog } from '../sop/catalog';
import { eventGraphDiagnostics, type GraphSop, graphSop } from '../sop/event-graph';
import { triggerSpecs } from '../sop/triggers';

export interface DeclaredTrigger {
  spec: TriggerSpec;
  bundleHash: string;
  /** the project root: relative `repo.path` values and poll commands resolve against it */
  projectDir: string;
}

export interface DeclaredTriggers {
  triggers: DeclaredTrigger[];
  /** compile errors of any SOP and of the event graph: nothing may be synced while there are some */
  errors: Diagnostic[];
}

export function declaredTriggers(catalog: Catalog): DeclaredTriggers {
  const errors: Diagnostic[] = [...catalog.configDiagnostics.filter((d) => d.severity === 'error')];
  const triggers: DeclaredTrigger[] = [];
  const graph: GraphSop[] = [];
  for (const entry of catalog.entries) {
    const result = catalog.compile(entry);
    errors.push(...result.diagnostics.filter((d) => d.severity === 'error'));
    if (!result.bundle) continue;
    graph.push(graphSop(result.bundle.definition, entry.dir));
    for (const spec of triggerSpecs(result.bundle.definition)) {
      triggers.push({ spec, bundleHash: result.bundle.hash, projectDir: catalog.projectDir });
    }
  }
  errors.push(...eventGraphDiagnostics(graph).filter((d) => d.severity === 'error'));
  return { triggers, errors };
}

/** sha256 of a JSON value: what a Schedule or sensor was made from, to see whether it changed. */
export function contentHash(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex');
}
