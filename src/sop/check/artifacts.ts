// Artifacts and worklists: their declarations (paths, schema files, worklist sources) and, once every step
// has been read, their path templates and whether anything uses them.

import { diagnostic, suggest } from '../../shapes/diagnostics';
import { forEachOf } from '../normalize';
import type { KeyPath } from '../yaml-source';
import { type CheckContext, checkTemplateText, escapesWorkspace } from './context';

/** Artifact paths and schema files, and the artifact each worklist reads. */
export function checkArtifactDeclarations(ctx: CheckContext): void {
  const { artifacts, report } = ctx;
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
        loadSchemaFile(ctx, artifact.schema, ['artifacts', name, 'schema']);
      }
    }
  }
  for (const [name, worklist] of Object.entries(ctx.worklists)) {
    if (!(worklist.from in artifacts)) {
      report(
        'SOP205',
        `worklist ${name} reads artifact "${worklist.from}", which is not declared`,
        ['worklists', name, 'from'],
        false,
        suggest(worklist.from, Object.keys(artifacts)),
      );
    } else {
      ctx.usedArtifacts.add(worklist.from);
      if (artifacts[worklist.from].kind !== 'json') {
        report(
          'SOP214',
          `worklist ${name} reads "${worklist.from}", a ${artifacts[worklist.from].kind} artifact`,
          ['worklists', name, 'from'],
        );
      }
    }
  }
}

/** An artifact's path template (with {{ item }} only where only worklist steps use it) and SOP802 (unused). */
export function checkArtifactUse(ctx: CheckContext): void {
  const { artifacts, steps, worklists } = ctx;
  for (const [name, artifact] of Object.entries(artifacts)) {
    const users = [...(ctx.artifactUsers.get(name) ?? [])];
    const onlyWorklist = users.length > 0 && users.every((s) => forEachOf(steps[s]) !== undefined);
    const worklistSource = Object.values(worklists).some((w) => w.from === name);
    checkTemplateText(
      ctx,
      artifact.path,
      {
        input: ctx.inputs,
        params: ctx.params,
        item: onlyWorklist && !worklistSource,
        roots: ['input', 'params', 'run', 'item'],
      },
      { yaml: ['artifacts', name, 'path'] },
    );
    if (!ctx.usedArtifacts.has(name))
      ctx.report(
        'SOP802',
        `artifact ${name} is declared but no step writes or requires it`,
        ['artifacts', name],
        true,
      );
  }
}

function loadSchemaFile(ctx: CheckContext, relative: string, at: KeyPath): void {
  const { files, out, report } = ctx;
  const text = files.read(relative);
  if (text === undefined) {
    report('SOP302', `schema file ${files.display(relative)} does not exist`, at);
    return;
  }
  if (typeof text !== 'string') {
    report('SOP304', `schema path "${relative}" leaves the SOP folder`, at);
    return;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    out.push(
      diagnostic('SOP303', `${relative} is not valid JSON: ${(err as Error).message}`, {
        file: files.display(relative),
        line: 1,
        column: 1,
      }),
    );
    return;
  }
  const problem = jsonSchemaProblem(parsed);
  if (problem) {
    out.push(
      diagnostic('SOP303', `${relative}: ${problem}`, {
        file: files.display(relative),
        line: 1,
        column: 1,
      }),
    );
    return;
  }
  ctx.loaded[relative] = text;
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
