// The cross-reference checks a schema cannot express: kinds, route targets, reachability, a way to
// finish, artifacts, worklists, policies, files and templates. Every problem is collected; none stops
// the others from being found.

import * as path from 'node:path';
import { ASK_WITH_BYPASS, ruleProblems } from '../policies/permission-rules';
import { mcpToolName } from '../policies/tool-servers';
import { type Diagnostic, type DiagnosticCode, diagnostic, suggest } from '../shapes/diagnostics';
import type { Policy } from '../shapes/policy';
import { RESERVED_SERVER_NAMES, type StepTools } from '../shapes/tool-grants';
import { checkDeliver } from './deliver';
import {
  APPROVAL_ROUTES,
  answerFieldValues,
  answerRouting,
  effectiveRoutes,
  forEachOf,
  type NormalTarget,
  roleOf,
  SOP_STEP_ROUTES,
  stepKind,
  stepRoles,
} from './normalize';
import type { SopFields, SopFile, SopStep } from './schema';
import { checkVariable, positionOf, QUESTION_ROOTS, scanTemplate, type TemplateScope } from './templates';
import { checkSecrets, checkSkills } from './toolbelt-checks';
import { checkTriggers, visitStrings } from './trigger-checks';
import type { KeyPath, SourceFile } from './yaml-source';

export interface FileAccess {
  /** display path of a file of the SOP folder (for diagnostics) */
  display(relative: string): string;
  /** the text, or undefined when missing; `escapes` when the path leaves the SOP folder */
  read(relative: string): string | undefined | { escapes: true };
  /** the files under a folder of the SOP (relative to the SOP folder, as bytes); undefined: no such folder */
  list?(relative: string): Record<string, Buffer> | undefined;
}

export interface CheckResult {
  diagnostics: Diagnostic[];
  /** prompt and schema texts by SOP-relative path */
  files: Record<string, string>;
}

const RESERVED = new Set(['finish', 'fail']);
const KIND_FIELDS: Record<string, ReadonlyArray<keyof SopStep>> = {
  agent: ['prompt', 'writes', 'session'],
  produce_verify: ['producer', 'verifier', 'max_rework', 'on_rework_exhausted'],
  command: ['run', 'env'],
  input: ['question', 'answer', 'route_on', 'on_timeout', 'review'],
  sop: ['sop', 'input', 'route_on'],
};
const AGENT_ONLY: ReadonlyArray<keyof SopStep> = [
  'agent',
  'policy',
  'tools',
  'skills',
  'provider',
  'model',
  'effort',
  'max_attempts',
  'max_launch_failures',
];

export function checkSop(
  sop: SopFile,
  source: SourceFile,
  files: FileAccess,
  folderName?: string,
): CheckResult {
  const out: Diagnostic[] = [];
  const loaded: Record<string, string> = {};
  const report = (code: DiagnosticCode, message: string, at: KeyPath, key = false, hint?: string) =>
    out.push(
      diagnostic(code, message, { file: source.file, ...source.locate(at, { key }), at: at.join('.') }, hint),
    );

  const steps = sop.steps;
  const stepNames = Object.keys(steps);
  const artifacts = sop.artifacts ?? {};
  const worklists = sop.worklists ?? {};
  const policies = sop.policies ?? {};
  const params = new Set(Object.keys(sop.params ?? {}));
  const inputs = new Set(Object.keys(sop.input ?? {}));

  if (folderName && folderName !== sop.name) {
    report('SOP803', `the SOP is named "${sop.name}" but its folder is "${folderName}"`, ['name']);
  }

  // ---- params referenced by counts ------------------------------------------------------------------
  const checkParamRef = (value: unknown, at: KeyPath) => {
    if (typeof value !== 'string') return;
    const name = /params\.([\w-]+)/.exec(value)?.[1];
    if (name && !params.has(name)) {
      report(
        'SOP215',
        `${at.join('.')} refers to params.${name}, which is not declared`,
        at,
        false,
        suggest(name, params),
      );
    }
  };
  for (const key of ['max_rework', 'max_attempts', 'max_launch_failures'] as const)
    checkParamRef(sop.defaults?.[key], ['defaults', key]);

  // ---- policies ---------------------------------------------------------------------------------------
  const resolvePolicy = (ref: unknown, at: KeyPath): Policy | undefined => {
    if (ref === undefined) return undefined;
    if (typeof ref === 'string') {
      if (!(ref in policies)) {
        report('SOP209', `policy "${ref}" is not declared`, at, false, suggest(ref, Object.keys(policies)));
        return undefined;
      }
      return policies[ref];
    }
    return ref as Policy;
  };
  const checkPolicy = (policy: Policy, at: KeyPath) => {
    for (const key of ['allow_write', 'deny_read', 'deny_write'] as const) {
      (policy[key] ?? []).forEach((p, i) => {
        if (escapesWorkspace(p)) {
          report('SOP501', `policy path "${p}" leaves the workspace`, [...at, key, i]);
        }
      });
    }
    if (policy.permission_mode === 'bypass' && policy.sandbox !== 'full-access') {
      report(
        'SOP502',
        'permission_mode bypass needs sandbox full-access (it would silently widen the sandbox)',
        [...at, 'permission_mode'],
      );
    }
    for (const { key, index, value, problem } of ruleProblems(policy))
      report('SOP504', `${key} "${value}": ${problem}`, [...at, key, index]);
    if (policy.permission_mode === 'bypass' && (policy.ask?.length ?? 0) > 0) {
      report('SOP502', ASK_WITH_BYPASS, [...at, 'ask']);
    }
    if (policy.sandbox === 'read-only' && (policy.allow_write?.length ?? 0) > 0) {
      report('SOP502', 'a read-only sandbox cannot have allow_write paths', [...at, 'allow_write']);
    }
    if (policy.network === 'open')
      report('SOP804', 'this policy opens the network to every host', [...at, 'network']);
  };
  for (const [name, policy] of Object.entries(policies)) checkPolicy(policy, ['policies', name]);

  // ---- tool servers -------------------------------------------------------------------------------------
  const servers = sop.mcp_servers ?? {};
  for (const name of Object.keys(servers))
    if (RESERVED_SERVER_NAMES.includes(name))
      report('SOP261', `tool server "${name}" has a reserved name`, ['mcp_servers', name], true);
  const checkServers = (tools: StepTools | undefined, at: KeyPath) => {
    for (const server of Object.keys(tools ?? {}))
      if (!(server in servers))
        report(
          'SOP260',
          `tools: names server "${server}", which is not declared under mcp_servers:`,
          [...at, 'tools', server],
          true,
          suggest(server, Object.keys(servers)),
        );
  };
  /** mcp__ ask rules naming a tool the role does not allow, reported where the rule is written */
  const checkToolAsks = (tools: StepTools | undefined, layers: Array<{ ref: unknown; at: KeyPath }>) => {
    // lists are replaced, not merged: the last layer with ask: is the one the role runs with
    const layer = layers
      .filter((l) => l.ref !== undefined)
      .map((l) =>
        typeof l.ref === 'string'
          ? { policy: policies[l.ref], at: ['policies', l.ref] }
          : { policy: l.ref as Policy, at: l.at },
      )
      .filter((l) => l.policy?.ask !== undefined)
      .pop();
    if (!layer) return;
    const allowed = new Set(
      Object.entries(tools ?? {}).flatMap(([server, names]) => names.map((t) => mcpToolName(server, t))),
    );
    layer.policy.ask!.forEach((rule, i) => {
      if (rule.startsWith('mcp__') && !allowed.has(rule))
        report(
          'SOP504',
          `ask "${rule}" names an MCP tool this step does not allow (${allowed.size > 0 ? [...allowed].join(', ') : 'its tools: allow none'}): a call to it is denied without asking`,
          [...layer.at, 'ask', i],
        );
    });
  };
  const profiles = sop.agents ?? {};
  const checkProfile = (name: string | undefined, at: KeyPath) => {
    if (name !== undefined && !(name in profiles))
      report(
        'SOP270',
        `agent: names profile "${name}", which is not declared under agents:`,
        [...at, 'agent'],
        false,
        suggest(name, Object.keys(profiles)),
      );
  };
  const defaultPolicy = resolvePolicy(sop.defaults?.policy, ['defaults', 'policy']);
  if (sop.defaults?.policy && typeof sop.defaults.policy !== 'string')
    checkPolicy(defaultPolicy!, ['defaults', 'policy']);

  // ---- artifacts and worklists ------------------------------------------------------------------------
  const usedArtifacts = new Set<string>();
  const artifactUsers = new Map<string, Set<string>>(); // artifact -> steps using it
  const useArtifact = (name: string, step: string, at: KeyPath) => {
    if (!(name in artifacts)) {
      report(
        'SOP205',
        `artifact "${name}" is not declared`,
        at,
        false,
        suggest(name, Object.keys(artifacts)),
      );
      return;
    }
    usedArtifacts.add(name);
    if (!artifactUsers.has(name)) artifactUsers.set(name, new Set());
    artifactUsers.get(name)!.add(step);
  };
  for (const [name, artifact] of Object.entries(artifacts)) {
    const stripped = artifact.path.replace(/\{\{[^}]*\}\}/g, 'x');
    if (escapesWorkspace(stripped))
      report('SOP501', `artifact path "${artifact.path}" leaves the workspace`, ['artifacts', name, 'path']);
    if (artifact.schema !== undefined) {
      if (artifact.kind !== 'json') {
        report('SOP210', `only json artifacts can have a schema (this one is ${artifact.kind})`, [
          'artifacts',
          name,
          'schema',
        ]);
      } else {
        loadSchemaFile(artifact.schema, ['artifacts', name, 'schema']);
      }
    }
  }
  for (const [name, worklist] of Object.entries(worklists)) {
    if (!(worklist.from in artifacts)) {
      report(
        'SOP205',
        `worklist ${name} reads artifact "${worklist.from}", which is not declared`,
        ['worklists', name, 'from'],
        false,
        suggest(worklist.from, Object.keys(artifacts)),
      );
    } else {
      usedArtifacts.add(worklist.from);
      if (artifacts[worklist.from].kind !== 'json') {
        report(
          'SOP214',
          `worklist ${name} reads "${worklist.from}", a ${artifacts[worklist.from].kind} artifact`,
          ['worklists', name, 'from'],
        );
      }
    }
  }

  function loadSchemaFile(relative: string, at: KeyPath) {
    const text = files.read(relative);
    if (text === undefined)
      return report('SOP302', `schema file ${files.display(relative)} does not exist`, at);
    if (typeof text !== 'string')
      return report('SOP304', `schema path "${relative}" leaves the SOP folder`, at);
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      return out.push(
        diagnostic('SOP303', `${relative} is not valid JSON: ${(err as Error).message}`, {
          file: files.display(relative),
          line: 1,
          column: 1,
        }),
      );
    }
    const problem = jsonSchemaProblem(parsed);
    if (problem) {
      return out.push(
        diagnostic('SOP303', `${relative}: ${problem}`, {
          file: files.display(relative),
          line: 1,
          column: 1,
        }),
      );
    }
    loaded[relative] = text;
  }

  // ---- steps: names, kinds, fields ---------------------------------------------------------------------
  for (const [name, step] of Object.entries(steps)) {
    const at = ['steps', name];
    if (RESERVED.has(name)) report('SOP213', `"${name}" is a route target and cannot name a step`, at, true);
    const kind = stepKind(step);
    for (const [otherKind, fields] of Object.entries(KIND_FIELDS)) {
      if (otherKind === kind) continue;
      for (const field of fields) {
        if (KIND_FIELDS[kind].includes(field)) continue;
        if (step[field] !== undefined) {
          report(
            'SOP210',
            `${field} does not belong to a ${kind} step (it is for ${otherKind} steps)`,
            [...at, field],
            true,
          );
        }
      }
    }
    if (kind === 'command' || kind === 'input' || kind === 'sop') {
      for (const field of AGENT_ONLY) {
        if (step[field] !== undefined)
          report('SOP210', `${field} does not belong to a ${kind} step`, [...at, field], true);
      }
    }
    const need = (field: keyof SopStep, what: string) => {
      if (step[field] === undefined) report('SOP210', `a ${kind} step needs ${what}`, at, true);
    };
    if (kind === 'agent') need('prompt', '`prompt:` (a Markdown file in the SOP folder)');
    if (kind === 'produce_verify') {
      need('producer', '`producer:`');
      need('verifier', '`verifier:`');
    }
    if (kind === 'command') need('run', '`run:` (the command line)');
    if (kind === 'input') need('question', '`question:`');
    if (kind === 'sop') need('sop', '`sop:` (the name of the SOP to run)');

    for (const key of ['max_rework', 'max_attempts', 'max_launch_failures', 'concurrency'] as const)
      checkParamRef(step[key], [...at, key]);
    if (typeof step.for_each === 'object')
      checkParamRef(step.for_each.concurrency, [...at, 'for_each', 'concurrency']);

    const forEach = forEachOf(step);
    if (forEach && !(forEach.worklist in worklists)) {
      const where = typeof step.for_each === 'string' ? [...at, 'for_each'] : [...at, 'for_each', 'worklist'];
      report(
        'SOP206',
        `for_each names worklist "${forEach.worklist}", which is not declared`,
        where,
        false,
        suggest(forEach.worklist, Object.keys(worklists)),
      );
    }
    if (!forEach && step.concurrency !== undefined) {
      report('SOP210', 'concurrency only applies to steps with for_each', [...at, 'concurrency'], true);
    }

    for (const where of agentAsksPaths(step))
      if (
        !(
          where.length === 3 &&
          where[0] === 'routes' &&
          (kind === 'agent' || kind === 'produce_verify') &&
          !forEachOf(step)
        )
      )
        report(
          'SOP210',
          'agent_asks belongs on a request_input that a route of an agent step (not a for_each step) goes to: only there does an agent choose to ask',
          [...at, ...where, 'agent_asks'],
          true,
        );
    checkProfile(step.agent, at);
    for (const role of ['producer', 'verifier'] as const) checkProfile(step[role]?.agent, [...at, role]);
    checkServers(step.tools, at);
    if (step.policy !== undefined) {
      const policy = resolvePolicy(step.policy, [...at, 'policy']);
      if (policy && typeof step.policy !== 'string') checkPolicy(policy, [...at, 'policy']);
    }
    for (const { role, keyPath } of stepRoles(step)) {
      const spec = roleOf(step, role);
      const roleAt = [...at, ...keyPath];
      if (role !== 'agent') {
        const raw = step[role]?.policy;
        const policy = resolvePolicy(raw, [...roleAt, 'policy']);
        if (policy && typeof raw !== 'string') checkPolicy(policy, [...roleAt, 'policy']);
      }
      (spec.writes ?? []).forEach((artifact, i) => {
        useArtifact(artifact, name, [...roleAt, 'writes', i]);
      });
      const ownTools = role !== 'agent' && step[role]?.tools !== undefined;
      if (ownTools) checkServers(step[role]?.tools, roleAt);
      checkToolAsks(spec.tools, [
        { ref: sop.defaults?.policy, at: ['defaults', 'policy'] },
        { ref: step.policy, at: [...at, 'policy'] },
        ...(role === 'agent' ? [] : [{ ref: step[role]?.policy, at: [...roleAt, 'policy'] }]),
      ]);
      if (spec.session === 'item' && !forEach) {
        report('SOP251', `${name} has no for_each, so it has no items to keep sessions for`, [
          ...roleAt,
          'session',
        ]);
      }
      if (role === 'verifier' && sharesProducerSession(step)) {
        report(
          'SOP250',
          `the verifier of ${name} would continue its producer's session (both session: ${spec.session})`,
          [...roleAt, 'session'],
        );
      }
      if (role === 'verifier') {
        const effective = {
          ...(defaultPolicy ?? {}),
          ...(resolveQuiet(step.policy) ?? {}),
          ...(resolveQuiet(step.verifier?.policy) ?? {}),
        };
        const writesOnlyRunFiles =
          (effective.allow_write ?? []).length > 0 &&
          effective.allow_write!.every((p) => p === '.sop' || p.startsWith('.sop/'));
        if ((effective.sandbox ?? 'read-only') !== 'read-only' && !writesOnlyRunFiles) {
          report(
            'SOP801',
            `the verifier of ${name} runs with sandbox ${effective.sandbox}`,
            [...roleAt, 'policy'],
            true,
          );
        }
      }
    }
    (step.after ?? []).forEach((dep, i) => {
      if (!(dep in steps))
        report(
          'SOP208',
          `after names step "${dep}", which does not exist`,
          [...at, 'after', i],
          false,
          suggest(dep, stepNames),
        );
      else if (dep === name) report('SOP207', `step ${name} depends on itself`, [...at, 'after', i]);
    });
  }
  function resolveQuiet(ref: unknown): Policy | undefined {
    if (typeof ref === 'string') return policies[ref];
    return ref as Policy | undefined;
  }

  // ---- routes and targets ----------------------------------------------------------------------------
  const edges = new Map<string, Set<string>>(); // step -> steps it may lead to
  const addEdge = (from: string, to: string) => {
    if (!edges.has(from)) edges.set(from, new Set());
    edges.get(from)!.add(to);
  };
  const checkTarget = (from: string, target: NormalTarget, at: KeyPath, inWorklist: boolean) => {
    switch (target.kind) {
      case 'step':
        if (!(target.step in steps)) {
          report(
            'SOP202',
            `route target "${target.step}" is not a step of this SOP`,
            at,
            false,
            suggest(target.step, [...stepNames, 'finish', 'fail']),
          );
        } else addEdge(from, target.step);
        return;
      case 'advance':
        if (!inWorklist)
          report('SOP211', `${from} has no for_each, so it cannot complete_and_advance`, at, true);
        return checkTarget(from, target.exhausted, [...at.slice(0, -1), 'exhausted'], false);
      case 'request_input': {
        const requestAt = at[at.length - 1] === 'request_input' ? at : [...at, 'request_input'];
        checkQuestion(target.spec, from, inWorklist, [...requestAt, 'question']);
        if (target.spec.on_timeout)
          checkTargetValue(from, target.spec.on_timeout, [...requestAt, 'on_timeout'], inWorklist);
        const routes = target.spec.routes ?? {};
        if (target.spec.routes || target.spec.route_on) {
          checkAnswerRoutes(
            target.spec.route_on,
            target.spec.answer,
            Object.keys(routes),
            requestAt,
            'request_input',
          );
        }
        for (const [name, value] of Object.entries(routes))
          checkTargetValue(from, value, [...requestAt, 'routes', name], inWorklist);
        return;
      }
      default:
        return;
    }
  };
  const checkTargetValue = (from: string, value: unknown, at: KeyPath, inWorklist: boolean) => {
    // `exhausted`/`on_failure` etc. are Target values; reuse the route normalisation
    const route = effectiveTarget(value);
    if (route) checkTarget(from, route, at, inWorklist);
  };

  for (const [name, step] of Object.entries(steps)) {
    const at = ['steps', name];
    const kind = stepKind(step);
    const inWorklist = forEachOf(step) !== undefined;
    const routes = effectiveRoutes(step);
    const declared = Object.keys(step.routes ?? {});
    if ((kind === 'agent' || kind === 'produce_verify') && declared.length === 0) {
      report('SOP210', `a ${kind} step needs routes: the outcomes the agent may choose`, at, true);
    }
    if (kind === 'command') {
      for (const route of declared) {
        if (route !== 'passed' && route !== 'failed')
          report(
            'SOP216',
            `command steps route on passed / failed, not "${route}"`,
            [...at, 'routes', route],
            true,
          );
      }
    }
    if (kind === 'sop' && step.route_on === undefined) {
      for (const route of declared) {
        if (!(SOP_STEP_ROUTES as readonly string[]).includes(route))
          report(
            'SOP216',
            `sop steps route on completed / failed (or on a step of the called SOP with route_on), not "${route}"`,
            [...at, 'routes', route],
            true,
          );
      }
    }
    if (kind === 'input' && step.review !== undefined) checkReviewGate(step, declared, at);
    if (kind === 'input') {
      checkAnswerRoutes(step.route_on, step.answer, declared, at, 'input step');
      if (step.question) checkQuestion({ question: step.question }, name, inWorklist, [...at, 'question']);
    }
    for (const route of routes) {
      const routeAt = [...at, 'routes', route.name];
      if (!route.target) {
        const found = route.targetKeys.length === 0 ? 'none' : route.targetKeys.join(' and ');
        report('SOP212', `route ${route.name} needs exactly one target (found ${found})`, routeAt, true);
        continue;
      }
      const raw = step.routes?.[route.name];
      const targetAt =
        typeof raw === 'string' || raw === undefined ? routeAt : [...routeAt, route.targetKeys[0]];
      checkTarget(name, route.target, targetAt, inWorklist);
      if (typeof raw === 'object' && raw.exhausted !== undefined && !raw.complete_and_advance) {
        report(
          'SOP210',
          'exhausted only applies to complete_and_advance routes',
          [...routeAt, 'exhausted'],
          true,
        );
      }
      route.requires.forEach((artifact, i) => {
        useArtifact(artifact, name, [...routeAt, 'requires', i]);
      });
    }
    for (const key of ['on_failure', 'on_rework_exhausted', 'on_timeout'] as const) {
      if (step[key] !== undefined) checkTargetValue(name, step[key], [...at, key], inWorklist);
    }
    for (const dep of step.after ?? []) if (dep in steps && dep !== name) addEdge(dep, name);
  }

  /** A review gate: its answer is the pull request's review, an approval routing approved / rejected. */
  function checkReviewGate(step: SopStep, declared: string[], at: KeyPath) {
    for (const field of ['answer', 'route_on'] as const) {
      if (step[field] !== undefined)
        report(
          'SOP218',
          `a review gate's answer is the pull request's review (approve, guidance): remove ${field}:`,
          [...at, field],
          true,
        );
    }
    if (answerRouting(undefined, declared).kind !== 'approval')
      report(
        'SOP216',
        'a review gate routes on approved (the review approved) and rejected (changes requested, or /sop rework)',
        [...at, 'routes'],
        true,
      );
  }

  /** An input step's (or request_input's) routes against the values its answer can take. */
  function checkAnswerRoutes(
    routeOn: string | undefined,
    answer: SopFields | undefined,
    names: string[],
    at: KeyPath,
    what: 'input step' | 'request_input',
  ) {
    const routing = answerRouting(routeOn, names);
    let values: string[] | undefined;
    if (routing.kind === 'answered') values = ['answered'];
    else if (routing.kind === 'approval') {
      values = [...APPROVAL_ROUTES];
      const approve = answer?.approve;
      const type = typeof approve === 'string' ? approve : approve?.type;
      if (answer && type !== 'boolean') {
        report(
          'SOP218',
          `routes approved / rejected make this an approval, whose answer needs a field approve: boolean`,
          [...at, 'answer'],
          true,
        );
      }
    } else {
      values = answerFieldValues(answer, routing.field);
      if (!answer || !(routing.field in answer)) {
        report(
          'SOP218',
          `route_on names "${routing.field}", which is not a field of answer:`,
          [...at, 'route_on'],
          false,
          answer
            ? suggest(routing.field, Object.keys(answer))
            : 'declare the field under answer: with an enum',
        );
      } else if (!values) {
        report(
          'SOP218',
          `answer field ${routing.field} has no enum of strings to route on`,
          [...at, 'answer', routing.field],
          true,
        );
      }
    }
    if (!values) return;
    const expected =
      routing.kind === 'answered'
        ? `${what === 'input step' ? 'input steps' : 'request_input'} route on answered, approved / rejected, or the values of route_on`
        : routing.kind === 'approval'
          ? 'an approval routes on approved / rejected'
          : `route_on ${routing.field} routes on ${values.join(' / ')}`;
    for (const name of names) {
      if (!values.includes(name))
        report(
          'SOP216',
          `${expected}, not "${name}"`,
          [...at, 'routes', name],
          true,
          routing.kind === 'field' ? suggest(name, values) : undefined,
        );
    }
    if (routing.kind === 'answered') return;
    for (const value of values) {
      if (!names.includes(value)) {
        report(
          'SOP217',
          `the answer can be "${value}", which has no route`,
          routing.kind === 'field' ? [...at, 'route_on'] : [...at, 'routes'],
          routing.kind !== 'field' && names.length > 0,
        );
      }
    }
  }

  function checkQuestion(spec: { question: string }, step: string, inWorklist: boolean, at: KeyPath) {
    checkTemplateText(
      spec.question,
      { input: inputs, params, step, item: inWorklist, roots: QUESTION_ROOTS },
      { yaml: at },
    );
  }

  // ---- after: cycles ---------------------------------------------------------------------------------
  const cycle = findAfterCycle(steps);
  if (cycle)
    report('SOP207', `after: dependencies form a cycle: ${cycle.join(' → ')}`, ['steps', cycle[0], 'after']);

  // ---- reachability and a way to finish ----------------------------------------------------------------
  const entry = stepNames[0];
  const reachable = new Set<string>([entry]);
  for (let changed = true; changed; ) {
    changed = false;
    for (const name of stepNames) {
      if (reachable.has(name)) {
        for (const next of edges.get(name) ?? []) {
          if (!reachable.has(next)) {
            reachable.add(next);
            changed = true;
          }
        }
      }
      const after = steps[name].after ?? [];
      if (!reachable.has(name) && after.length > 0 && after.every((d) => reachable.has(d))) {
        reachable.add(name);
        changed = true;
      }
    }
  }
  const hasTargetErrors = out.some((d) => d.code === 'SOP202' || d.code === 'SOP212');
  for (const name of stepNames) {
    // a misspelt target makes everything behind it unreachable: report the cause, not the cascade
    if (!reachable.has(name) && !hasTargetErrors) {
      report(
        'SOP203',
        `step ${name} can never run: no route leads to it and it has no satisfiable after:`,
        ['steps', name],
        true,
      );
    }
  }
  const finishes = new Set<string>();
  const targetFinishes = (target: NormalTarget | undefined): boolean => {
    if (!target) return false;
    if (target.kind === 'finish') return true;
    if (target.kind === 'step') return finishes.has(target.step);
    if (target.kind === 'advance') return targetFinishes(target.exhausted);
    if (target.kind === 'request_input') {
      // without routes the answer goes back to the step that asked
      return Object.values(target.spec.routes ?? {}).some((t) => targetFinishes(effectiveTarget(t)));
    }
    return false;
  };
  for (let changed = true; changed; ) {
    changed = false;
    for (const name of stepNames) {
      if (finishes.has(name)) continue;
      if (effectiveRoutes(steps[name]).some((r) => targetFinishes(r.target))) {
        finishes.add(name);
        changed = true;
      }
    }
  }
  if (!hasTargetErrors) {
    for (const name of stepNames) {
      if (reachable.has(name) && !finishes.has(name)) {
        report(
          'SOP204',
          `step ${name} has no route that leads to finish (every path ends in fail or loops)`,
          ['steps', name],
          true,
        );
      }
    }
  }

  // ---- prompts and templates -------------------------------------------------------------------------
  const predecessors = (name: string): Set<string> => {
    const result = new Set<string>();
    for (const other of stepNames) {
      if (other !== name && leadsTo(other, name)) result.add(other);
    }
    return result;
  };
  const leadsTo = (from: string, to: string): boolean => {
    const seen = new Set<string>();
    const stack = [...(edges.get(from) ?? [])];
    while (stack.length > 0) {
      const next = stack.pop()!;
      if (next === to) return true;
      if (seen.has(next)) continue;
      seen.add(next);
      stack.push(...(edges.get(next) ?? []));
    }
    return false;
  };

  for (const [name, step] of Object.entries(steps)) {
    const inWorklist = forEachOf(step) !== undefined;
    const scope: TemplateScope = {
      input: inputs,
      params,
      step: name,
      item: inWorklist,
      earlierSteps: hasTargetErrors ? undefined : predecessors(name),
      roots: ['input', 'params', 'run', 'step', 'item', 'steps'],
    };
    for (const { role, keyPath } of stepRoles(step)) {
      const prompt = roleOf(step, role).prompt;
      if (prompt === undefined) {
        if (role !== 'agent')
          report('SOP103', `the ${role} of ${name} needs a prompt`, ['steps', name, ...keyPath], true);
        continue;
      }
      const promptAt = ['steps', name, ...keyPath, 'prompt'];
      const text = files.read(prompt);
      if (text === undefined) {
        report('SOP301', `prompt file ${files.display(prompt)} does not exist`, promptAt);
        continue;
      }
      if (typeof text !== 'string') {
        report('SOP304', `prompt path "${prompt}" leaves the SOP folder`, promptAt);
        continue;
      }
      loaded[prompt] = text;
      checkTemplateText(text, scope, { file: prompt });
    }
    if (stepKind(step) === 'sop') {
      visitStrings(step.input ?? {}, ['steps', name, 'input'], (text, at) =>
        checkTemplateText(text, scope, { yaml: at }),
      );
    }
    if (step.run !== undefined) {
      // Commands see only params (set by whoever starts the run), never input or agent output: those
      // would turn a shell line into an injection point.
      checkTemplateText(
        step.run,
        { input: new Set(), params, step: name, item: false, roots: ['params'] },
        { yaml: ['steps', name, 'run'] },
      );
    }
  }
  // ---- triggers and emitted events ---------------------------------------------------------------------
  checkTriggers(sop, report, (text, at) =>
    checkTemplateText(
      text,
      { input: inputs, params, item: false, roots: ['input', 'params', 'run', 'steps'] },
      { yaml: at },
    ),
  );
  // ---- deliveries to the forge -----------------------------------------------------------------------------
  checkDeliver(
    sop.deliver,
    (step) =>
      steps[step]
        ? {
            routes: effectiveRoutes(steps[step]).map((r) => r.name),
            worklist: forEachOf(steps[step]) !== undefined,
          }
        : undefined,
    report,
    (text, at) =>
      checkTemplateText(
        text,
        {
          input: inputs,
          params,
          item: false,
          roots: ['input', 'params', 'run', 'steps', 'routes', 'pull_request'],
        },
        { yaml: at },
      ),
  );
  for (const [name, artifact] of Object.entries(artifacts)) {
    const users = [...(artifactUsers.get(name) ?? [])];
    const onlyWorklist = users.length > 0 && users.every((s) => forEachOf(steps[s]) !== undefined);
    const worklistSource = Object.values(worklists).some((w) => w.from === name);
    checkTemplateText(
      artifact.path,
      {
        input: inputs,
        params,
        item: onlyWorklist && !worklistSource,
        roots: ['input', 'params', 'run', 'item'],
      },
      { yaml: ['artifacts', name, 'path'] },
    );
    if (!usedArtifacts.has(name))
      report(
        'SOP802',
        `artifact ${name} is declared but no step writes or requires it`,
        ['artifacts', name],
        true,
      );
  }

  function checkTemplateText(
    text: string,
    scope: TemplateScope,
    where: { file: string } | { yaml: KeyPath },
  ) {
    const { variables, problems } = scanTemplate(text);
    const locate = (offset: number) =>
      'file' in where
        ? { file: files.display(where.file), ...positionOf(text, offset) }
        : { file: source.file, ...source.locate(where.yaml), at: where.yaml.join('.') };
    for (const problem of problems) {
      out.push(
        diagnostic('SOP404', `malformed template ${JSON.stringify(problem.text)}`, locate(problem.offset)),
      );
    }
    for (const variable of variables) {
      const verdict = checkVariable(variable.path, scope);
      if (!verdict.ok) out.push(diagnostic(verdict.code, verdict.message, locate(variable.offset)));
    }
  }

  checkSecrets(sop, report);
  checkSkills(sop, files, report, loaded);
  return { diagnostics: out, files: loaded };
}

/** A Target value (string or object) as a normal target, or undefined when malformed (zod reports it). */
/** Producer and verifier of a step name the same session slot (any value but fresh). */
function sharesProducerSession(step: SopStep): boolean {
  const producer = step.producer?.session;
  return producer !== undefined && producer !== 'fresh' && producer === step.verifier?.session;
}

function effectiveTarget(value: unknown): NormalTarget | undefined {
  if (typeof value === 'string') {
    return value === 'finish'
      ? { kind: 'finish' }
      : value === 'fail'
        ? { kind: 'fail' }
        : { kind: 'step', step: value };
  }
  if (value && typeof value === 'object') {
    const v = value as Record<string, unknown>;
    if (typeof v.to === 'string') return effectiveTarget(v.to);
    if (v.finish) return { kind: 'finish' };
    if (v.fail) return { kind: 'fail' };
    if (v.request_input) return { kind: 'request_input', spec: v.request_input as never };
  }
  return undefined;
}

function findAfterCycle(steps: Record<string, SopStep>): string[] | undefined {
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (name: string): string[] | undefined => {
    if (state.get(name) === 'done') return undefined;
    if (state.get(name) === 'visiting') return [...stack.slice(stack.indexOf(name)), name];
    state.set(name, 'visiting');
    stack.push(name);
    for (const dep of steps[name]?.after ?? []) {
      if (dep === name || !(dep in steps)) continue;
      const cycle = visit(dep);
      if (cycle) return cycle;
    }
    stack.pop();
    state.set(name, 'done');
    return undefined;
  };
  for (const name of Object.keys(steps)) {
    const cycle = visit(name);
    if (cycle) return cycle.reverse();
  }
  return undefined;
}

export function escapesWorkspace(p: string): boolean {
  if (path.isAbsolute(p) || /^[a-zA-Z]:[\\/]/.test(p) || p.startsWith('~')) return true;
  return p.split(/[\\/]+/).includes('..');
}

/** Enough of JSON Schema to catch files that are not schemas at all or misuse the core keywords. */
function jsonSchemaProblem(schema: unknown): string | undefined {
  if (schema === null || typeof schema !== 'object' || Array.isArray(schema))
    return 'a JSON Schema must be an object';
  const types = ['string', 'integer', 'number', 'boolean', 'array', 'object', 'null'];
  const visit = (node: unknown, where: string): string | undefined => {
    if (typeof node === 'boolean') return undefined;
    if (node === null || typeof node !== 'object' || Array.isArray(node))
      return `${where} must be a schema object`;
    const s = node as Record<string, unknown>;
    if (s.type !== undefined) {
      const list = Array.isArray(s.type) ? s.type : [s.type];
      const bad = list.find((t) => typeof t !== 'string' || !types.includes(t));
      if (bad !== undefined) return `${where}.type ${JSON.stringify(bad)} is not a JSON Schema type`;
    }
    if (
      s.required !== undefined &&
      !(Array.isArray(s.required) && s.required.every((r) => typeof r === 'string'))
    ) {
      return `${where}.required must be a list of property names`;
    }
    if (s.properties !== undefined) {
      if (typeof s.properties !== 'object' || s.properties === null || Array.isArray(s.properties)) {
        return `${where}.properties must be an object`;
      }
      for (const [key, value] of Object.entries(s.properties)) {
        const problem = visit(value, `${where}.properties.${key}`);
        if (problem) return problem;
      }
    }
    if (s.items !== undefined) return visit(s.items, `${where}.items`);
    return undefined;
  };
  return visit(schema, '(schema)');
}

/** Where a step's `request_input`s set `agent_asks` (key paths inside the step, to the request_input). */
function agentAsksPaths(value: unknown, at: Array<string | number> = []): Array<Array<string | number>> {
  if (!value || typeof value !== 'object') return [];
  const out: Array<Array<string | number>> = [];
  for (const [key, child] of Object.entries(value)) {
    if (key === 'request_input' && (child as { agent_asks?: unknown })?.agent_asks !== undefined)
      out.push([...at, key]);
    out.push(...agentAsksPaths(child, [...at, key]));
  }
  return out;
}
