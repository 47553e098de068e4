// What every section of checkSop shares: the SOP's names, the diagnostics collected so far, the files read,
// and the graph of routes that later sections read (reachability, earlier steps).

import * as path from 'node:path';
import { type Diagnostic, diagnostic, suggest } from '../../shapes/diagnostics';
import type { Policy } from '../../shapes/policy';
import type { SopArtifact, SopFile, SopStep } from '../schema';
import { checkVariable, positionOf, scanTemplate, type TemplateScope } from '../templates';
import type { Report } from '../trigger-checks';
import type { KeyPath, SourceFile } from '../yaml-source';

export interface FileAccess {
  /** display path of a file of the SOP folder (for diagnostics) */
  display(relative: string): string;
  /** the text, or undefined when missing; `escapes` when the path leaves the SOP folder */
  read(relative: string): string | undefined | { escapes: true };
  /** the files under a folder of the SOP (relative to the SOP folder, as bytes); undefined: no such folder */
  list?(relative: string): Record<string, Buffer> | undefined;
}

export interface CheckContext {
  sop: SopFile;
  source: SourceFile;
  files: FileAccess;
  /** every diagnostic found so far, in the order found */
  out: Diagnostic[];
  /** prompt and schema texts by SOP-relative path */
  loaded: Record<string, string>;
  report: Report;
  steps: Record<string, SopStep>;
  stepNames: string[];
  artifacts: Record<string, SopArtifact>;
  worklists: NonNullable<SopFile['worklists']>;
  policies: Record<string, Policy>;
  params: Set<string>;
  inputs: Set<string>;
  /** artifacts some step writes or requires, or a worklist reads */
  usedArtifacts: Set<string>;
  /** artifact -> steps using it */
  artifactUsers: Map<string, Set<string>>;
  /** step -> steps it may lead to (routes and after:) */
  edges: Map<string, Set<string>>;
}

export function createCheckContext(sop: SopFile, source: SourceFile, files: FileAccess): CheckContext {
  const out: Diagnostic[] = [];
  const report: Report = (code, message, at, key = false, hint) => {
    out.push(
      diagnostic(code, message, { file: source.file, ...source.locate(at, { key }), at: at.join('.') }, hint),
    );
  };
  return {
    sop,
    source,
    files,
    out,
    loaded: {},
    report,
    steps: sop.steps,
    stepNames: Object.keys(sop.steps),
    artifacts: sop.artifacts ?? {},
    worklists: sop.worklists ?? {},
    policies: sop.policies ?? {},
    params: new Set(Object.keys(sop.params ?? {})),
    inputs: new Set(Object.keys(sop.input ?? {})),
    usedArtifacts: new Set(),
    artifactUsers: new Map(),
    edges: new Map(),
  };
}

/** A count (max_rework and the like) that names `params.X`: X must be declared. */
export function checkParamRef(ctx: CheckContext, value: unknown, at: KeyPath): void {
  if (typeof value !== 'string') return;
  const name = /params\.([\w-]+)/.exec(value)?.[1];
  if (name && !ctx.params.has(name)) {
    ctx.report(
      'SOP215',
      `${at.join('.')} refers to params.${name}, which is not declared`,
      at,
      false,
      suggest(name, ctx.params),
    );
  }
}

/** The {{ }} variables of a prompt file or a YAML string, against what is in scope where it is used. */
export function checkTemplateText(
  ctx: CheckContext,
  text: string,
  scope: TemplateScope,
  where: { file: string } | { yaml: KeyPath },
): void {
  const { variables, problems } = scanTemplate(text);
  const locate = (offset: number) =>
    'file' in where
      ? { file: ctx.files.display(where.file), ...positionOf(text, offset) }
      : { file: ctx.source.file, ...ctx.source.locate(where.yaml), at: where.yaml.join('.') };
  for (const problem of problems) {
    ctx.out.push(
      diagnostic('SOP404', `malformed template ${JSON.stringify(problem.text)}`, locate(problem.offset)),
    );
  }
  for (const variable of variables) {
    const verdict = checkVariable(variable.path, scope);
    if (!verdict.ok) ctx.out.push(diagnostic(verdict.code, verdict.message, locate(variable.offset)));
  }
}

/** Records that `step` writes or requires artifact `name`, which must be declared. */
export function useArtifact(ctx: CheckContext, name: string, step: string, at: KeyPath): void {
  if (!(name in ctx.artifacts)) {
    ctx.report(
      'SOP205',
      `artifact "${name}" is not declared`,
      at,
      false,
      suggest(name, Object.keys(ctx.artifacts)),
    );
    return;
  }
  ctx.usedArtifacts.add(name);
  if (!ctx.artifactUsers.has(name)) ctx.artifactUsers.set(name, new Set());
  ctx.artifactUsers.get(name)!.add(step);
}

export function addEdge(ctx: CheckContext, from: string, to: string): void {
  if (!ctx.edges.has(from)) ctx.edges.set(from, new Set());
  ctx.edges.get(from)!.add(to);
}

/** A path (policy or artifact) that leaves the workspace: absolute, or climbing out with `..`. */
export function escapesWorkspace(p: string): boolean {
  if (path.isAbsolute(p) || /^[a-zA-Z]:[\\/]/.test(p) || p.startsWith('~')) return true;
  return p.split(/[\\/]+/).includes('..');
}
