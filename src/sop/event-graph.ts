// The event graph across the catalog: SOP A emits NAME, SOP B listens to NAME (`triggers: { t: { event:
// NAME } }`) → A starts B. Checked at compile time: an event nobody emits (error), an emitted event
// nobody hears (warning), cycles (error naming the chain), and a webhook name used twice (error).

import * as fs from 'node:fs';
import * as path from 'node:path';
import { type Diagnostic, type DiagnosticCode, diagnostic } from '../shapes/diagnostics';
import { SHARED_HOOK } from '../shapes/triggers';
import { SOP_FILE } from './compile';
import type { SopFile } from './schema';
import type { SopTrigger } from './trigger-schema';
import { emittedEvents, heardEvents } from './triggers';
import { type KeyPath, parseYamlSource, type SourceFile } from './yaml-source';

export interface GraphSop {
  definition: SopFile;
  /** where its keys are (for located diagnostics) */
  source: Pick<SourceFile, 'file' | 'locate'>;
}

export function eventGraphDiagnostics(sops: GraphSop[]): Diagnostic[] {
  const out: Diagnostic[] = [];
  const report = (sop: GraphSop, code: DiagnosticCode, message: string, at: KeyPath) =>
    out.push(
      diagnostic(code, message, { file: sop.source.file, ...sop.source.locate(at), at: at.join('.') }),
    );
  const emitters = new Map<string, string[]>();
  const listeners = new Map<string, string[]>();
  for (const sop of sops) {
    for (const { event } of emittedEvents(sop.definition)) push(emitters, event, sop.definition.name);
    for (const { event } of heardEvents(sop.definition)) push(listeners, event, sop.definition.name);
  }
  const hooks = new Map<string, string>();
  let sharedSecret: string | undefined;
  for (const sop of sops) {
    for (const { event, trigger, at } of heardEvents(sop.definition)) {
      if (!emitters.has(event)) {
        const known = [...emitters.keys()].sort();
        report(
          sop,
          'SOP234',
          `trigger ${trigger} listens to event "${event}", which no SOP of the catalog emits${known.length > 0 ? ` (emitted: ${known.join(', ')})` : ''}`,
          at,
        );
      }
    }
    const reported = new Set<string>();
    for (const { event, at } of emittedEvents(sop.definition)) {
      if (listeners.has(event) || reported.has(event)) continue;
      reported.add(event);
      report(
        sop,
        'SOP830',
        `${sop.definition.name} emits "${event}", which no SOP of the catalog listens to`,
        at,
      );
    }
    for (const [name, trigger] of Object.entries(sop.definition.triggers ?? {})) {
      if (!trigger.webhook) continue;
      const owner = `${sop.definition.name}.triggers.${name}`;
      const first = hooks.get(trigger.webhook.name);
      const at: KeyPath = ['triggers', name, 'webhook', 'name'];
      if (trigger.webhook.name === SHARED_HOOK) {
        // the GitHub App's one endpoint: shared by design, verified with one secret
        const problem = sharedHookProblem(trigger.webhook);
        if (problem) report(sop, 'SOP236', `${owner}: ${problem}`, at);
        else if (first && sharedSecret !== trigger.webhook.secret_env)
          report(
            sop,
            'SOP236',
            `webhook "${SHARED_HOOK}" is verified with one secret, but ${first} reads it from ${sharedSecret} and ${owner} from ${trigger.webhook.secret_env}`,
            at,
          );
        if (!first) {
          hooks.set(SHARED_HOOK, owner);
          sharedSecret = trigger.webhook.secret_env;
        }
      } else if (first) {
        report(
          sop,
          'SOP236',
          `webhook "${trigger.webhook.name}" is declared by ${first} and by ${owner}`,
          at,
        );
      } else hooks.set(trigger.webhook.name, owner);
    }
  }
  for (const cycle of eventCycles(sops)) {
    const last = cycle[cycle.length - 1];
    const closing = sops.find((s) => s.definition.name === last.to)!;
    const chain = [cycle[0].from, ...cycle.map((e) => `-[${e.event}]-> ${e.to}`)].join(' ');
    const at = heardEvents(closing.definition).find((h) => h.event === last.event)!.at;
    report(closing, 'SOP235', `events form a cycle: ${chain}`, at);
  }
  return out;
}

/** The shared hook is GitHub's: its signature is GitHub's and its delivery id X-GitHub-Delivery. */
function sharedHookProblem(webhook: NonNullable<SopTrigger['webhook']>): string | undefined {
  if (webhook.signature && webhook.signature !== 'github')
    return `webhook "${SHARED_HOOK}" (the GitHub App's endpoint) is signed as GitHub signs: remove signature: ${webhook.signature}`;
  if (webhook.dedupe && webhook.dedupe.toLowerCase() !== 'header:x-github-delivery')
    return `webhook "${SHARED_HOOK}" deduplicates by X-GitHub-Delivery per trigger: remove dedupe: ${webhook.dedupe}`;
  return undefined;
}

interface Edge {
  from: string;
  event: string;
  to: string;
}

/** Each elementary cycle once (found from its first SOP in catalog order). */
function eventCycles(sops: GraphSop[]): Edge[][] {
  const edges = new Map<string, Edge[]>();
  for (const from of sops) {
    const emitted = new Set(emittedEvents(from.definition).map((e) => e.event));
    for (const to of sops) {
      for (const { event } of heardEvents(to.definition)) {
        if (emitted.has(event))
          push(edges, from.definition.name, { from: from.definition.name, event, to: to.definition.name });
      }
    }
  }
  return elementaryCycles(
    sops.map((s) => s.definition.name),
    edges,
  );
}

/**
 * Each elementary cycle of a graph between SOPs once, found from its first SOP in `order` (catalog order).
 * Also used for the call graph of `kind: sop` steps (sop-calls.ts).
 */
export function elementaryCycles<E extends { from: string; to: string }>(
  order: string[],
  edges: Map<string, E[]>,
): E[][] {
  const cycles: E[][] = [];
  const seen = new Set<string>();
  for (const start of order) {
    const stack: E[] = [];
    const onPath = new Set<string>([start]);
    const visit = (node: string) => {
      for (const edge of edges.get(node) ?? []) {
        if (edge.to === start) {
          const cycle = [...stack, edge];
          const key = cycleKey(cycle);
          if (!seen.has(key)) {
            seen.add(key);
            cycles.push(cycle);
          }
        } else if (!onPath.has(edge.to) && order.indexOf(edge.to) > order.indexOf(start)) {
          onPath.add(edge.to);
          stack.push(edge);
          visit(edge.to);
          stack.pop();
          onPath.delete(edge.to);
        }
      }
    };
    visit(start);
  }
  return cycles;
}

function cycleKey(cycle: object[]): string {
  return cycle
    .map((e) => JSON.stringify(e))
    .sort()
    .join('|');
}

export function push<V>(map: Map<string, V[]>, key: string, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

/** The graph SOP of a compiled definition in `dir`: its sop.yaml located for diagnostics. */
export function graphSop(definition: SopFile, dir: string, relativeTo = process.cwd()): GraphSop {
  const file = path.join(dir, SOP_FILE);
  const shown = path.relative(relativeTo, file).startsWith('..') ? file : path.relative(relativeTo, file);
  try {
    const { source } = parseYamlSource(fs.readFileSync(file, 'utf8'), shown);
    return { definition, source };
  } catch {
    return { definition, source: { file: shown, locate: () => ({ line: 0, column: 0 }) } };
  }
}
