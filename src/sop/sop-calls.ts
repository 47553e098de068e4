// The call graph across the catalog: a `kind: sop` step of SOP A runs SOP B as a child run. Checked at
// compile time, with the whole catalog: the called SOP exists, the step's `input:` gives only fields B
// declares and every field B requires, `route_on` names a step of B, and no SOP calls itself through a
// chain of calls (error naming the chain).

import { type Diagnostic, type DiagnosticCode, diagnostic, suggest } from '../shapes/diagnostics';
import { elementaryCycles, type GraphSop, push } from './event-graph';
import { stepKind } from './normalize';
import type { SopFile } from './schema';
import type { KeyPath } from './yaml-source';

interface SopCall {
  step: string;
  /** the called SOP, as written (a name or an alias) */
  sop: string;
  at: KeyPath;
}

/** The `kind: sop` steps of an SOP. */
function sopCalls(sop: SopFile): SopCall[] {
  return Object.entries(sop.steps)
    .filter(([, step]) => stepKind(step) === 'sop' && step.sop !== undefined)
    .map(([step, spec]) => ({ step, sop: spec.sop!, at: ['steps', step, 'sop'] }));
}

/**
 * `sops`: the SOPs of the catalog that compile; `uncompiled`: names (and aliases) of those that do not
 * (a call to one is not reported here: its own errors are).
 */
export function sopCallDiagnostics(sops: GraphSop[], uncompiled: string[] = []): Diagnostic[] {
  const out: Diagnostic[] = [];
  const report = (sop: GraphSop, code: DiagnosticCode, message: string, at: KeyPath, hint?: string) =>
    out.push(
      diagnostic(code, message, { file: sop.source.file, ...sop.source.locate(at), at: at.join('.') }, hint),
    );
  const find = (name: string) =>
    sops.find((s) => s.definition.name === name) ??
    sops.find((s) => (s.definition.aliases ?? []).includes(name));
  const edges = new Map<string, Array<{ from: string; step: string; to: string }>>();
  for (const caller of sops) {
    const definition = caller.definition;
    for (const call of sopCalls(definition)) {
      const step = definition.steps[call.step];
      const called = find(call.sop);
      if (!called && uncompiled.includes(call.sop)) continue;
      if (!called) {
        const names = sops.flatMap((s) => [s.definition.name, ...(s.definition.aliases ?? [])]);
        report(
          caller,
          'SOP240',
          `step ${call.step} calls SOP "${call.sop}", which is not in the catalog`,
          call.at,
          suggest(call.sop, names),
        );
        continue;
      }
      push(edges, definition.name, { from: definition.name, step: call.step, to: called.definition.name });
      const inputs = called.definition.input ?? {};
      const mapping = step.input ?? {};
      for (const field of Object.keys(mapping)) {
        if (!(field in inputs)) {
          report(
            caller,
            'SOP241',
            `step ${call.step}: input.${field} is not an input of ${called.definition.name}`,
            ['steps', call.step, 'input', field],
            `declared inputs of ${called.definition.name}: ${Object.keys(inputs).join(', ') || 'none'}`,
          );
        }
      }
      for (const [field, spec] of Object.entries(inputs)) {
        const optional = typeof spec !== 'string' && (spec.required === false || spec.default !== undefined);
        if (!optional && !(field in mapping)) {
          report(
            caller,
            'SOP242',
            `step ${call.step}: input.${field} is required by ${called.definition.name} but the step does not give it`,
            ['steps', call.step, ...(step.input ? ['input'] : [])],
            `add \`input: { ${field}: "{{ input.... }}" }\` to step ${call.step}`,
          );
        }
      }
      if (step.route_on !== undefined && !(step.route_on in called.definition.steps)) {
        report(
          caller,
          'SOP244',
          `step ${call.step}: route_on names "${step.route_on}", which is not a step of ${called.definition.name}`,
          ['steps', call.step, 'route_on'],
          suggest(step.route_on, Object.keys(called.definition.steps)),
        );
      }
    }
  }
  const order = sops.map((s) => s.definition.name);
  for (const cycle of elementaryCycles(order, edges)) {
    const closing = cycle[cycle.length - 1];
    const caller = sops.find((s) => s.definition.name === closing.from)!;
    const chain = [cycle[0].from, ...cycle.map((e) => `-[${e.step}]-> ${e.to}`)].join(' ');
    report(caller, 'SOP243', `SOP calls form a cycle: ${chain}`, ['steps', closing.step, 'sop']);
  }
  return out;
}
