import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Validator } from '@cfworker/json-schema';
import type { ArtifactReport } from '../shapes/contract';
import type { ArtifactSpec } from '../shapes/execution-plan';
import { renderText } from '../shapes/render-text';
import { resolveInWorkspace } from './workspace-paths';

export interface ResolvedArtifact {
  spec: ArtifactSpec;
  /** workspace-relative, rendered */
  relative: string;
  absolute: string;
  /** mtime before the execution (undefined: did not exist) */
  mtimeBefore?: number;
}

export function resolveArtifacts(
  specs: ArtifactSpec[],
  workspace: string,
  scope: Record<string, unknown>,
): ResolvedArtifact[] {
  return specs.map((spec) => {
    const relative = renderText(spec.path, scope);
    if (/\{\{/.test(relative))
      throw new Error(`artifact ${spec.name}: path ${spec.path} has unresolved variables`);
    const absolute = resolveInWorkspace(workspace, relative);
    const mtimeBefore = fs.existsSync(absolute) ? fs.statSync(absolute).mtimeMs : undefined;
    return { spec, relative, absolute, mtimeBefore };
  });
}

/** Existence, freshness (modified by this execution), kind and schema of each artifact, with its hash. */
export function inspectArtifacts(artifacts: ResolvedArtifact[]): ArtifactReport[] {
  return artifacts.map(({ spec, relative, absolute, mtimeBefore }) => {
    const base = { name: spec.name, path: relative };
    let stat: fs.Stats;
    try {
      stat = fs.lstatSync(absolute);
    } catch {
      return { ...base, exists: false, fresh: false, valid: false, error: 'missing' };
    }
    if (!stat.isFile())
      return { ...base, exists: true, fresh: false, valid: false, error: 'not a regular file' };
    const content = fs.readFileSync(absolute);
    const report = {
      ...base,
      exists: true,
      fresh: mtimeBefore === undefined || stat.mtimeMs > mtimeBefore,
      sha256: createHash('sha256').update(content).digest('hex'),
      size: content.length,
    };
    const error = contentError(spec, content);
    return error ? { ...report, valid: false, error } : { ...report, valid: true };
  });
}

function contentError(spec: ArtifactSpec, content: Buffer): string | undefined {
  if (spec.kind === 'raw') return undefined;
  if (content.length === 0) return 'empty file';
  if (spec.kind !== 'json') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(content.toString('utf8'));
  } catch (err) {
    return `not valid JSON: ${(err as Error).message}`;
  }
  if (!spec.schema) return undefined;
  const result = new Validator(spec.schema as never, '2020-12', false).validate(value);
  if (result.valid) return undefined;
  return result.errors
    .filter((e) => e.keyword !== 'properties' && e.keyword !== 'items')
    .slice(0, 5)
    .map((e) => `${e.instanceLocation.replace(/^#/, '') || '/'}: ${e.error}`)
    .join('; ');
}

export function ensureParentDir(file: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
}
