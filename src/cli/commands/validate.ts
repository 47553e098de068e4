import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import { type Diagnostic, diagnostic, formatDiagnostic } from '../../shapes/diagnostics';
import { Catalog } from '../../sop/catalog';
import { SOP_FILE } from '../../sop/compile';
import { eventGraphDiagnostics, type GraphSop, graphSop } from '../../sop/event-graph';
import { sopCallDiagnostics } from '../../sop/sop-calls';
import { CliError, ExitCode } from '../errors';
import { printJson } from '../output';

interface ValidationResult {
  sop: string;
  dir: string;
  ok: boolean;
  hash?: string;
  diagnostics: Diagnostic[];
}

export function registerValidate(program: Command): void {
  program
    .command('validate')
    .description('compile SOPs and report every problem with its code, file, line and a fix hint')
    .argument('[path...]', 'SOP folders, sop.yaml files or catalog names (default: every SOP in the catalog)')
    .option('-C, --project <dir>', 'project root (sops/, sop.config.yaml)', '.')
    .option('--json', 'machine-readable output')
    .action((targets: string[], opts: { project: string; json?: boolean }) => {
      const catalog = new Catalog({ projectDir: opts.project });
      const results: ValidationResult[] = [];
      if (catalog.configDiagnostics.length > 0) {
        results.push({
          sop: 'sop.config.yaml',
          dir: catalog.projectDir,
          ok: false,
          diagnostics: catalog.configDiagnostics,
        });
      }
      const dirs: Target[] =
        targets.length > 0
          ? targets.map((t) => resolveTarget(catalog, t))
          : catalog.entries.map((e) => ({ name: e.name, dir: e.dir }));
      for (const { name, dir, missing } of dirs) {
        if (missing) {
          results.push({ sop: name, dir, ok: false, diagnostics: [missing] });
          continue;
        }
        const result = catalog.compileDir(dir);
        results.push({
          sop: result.bundle?.name ?? name,
          dir,
          ok: !result.diagnostics.some((d) => d.severity === 'error'),
          hash: result.bundle?.hash,
          diagnostics: result.diagnostics,
        });
      }
      addEventGraph(catalog, results);
      const failed = results.filter((r) => !r.ok).length;
      if (opts.json) printJson({ ok: failed === 0, results });
      else printResults(results);
      if (failed > 0)
        throw new CliError(`${failed} of ${results.length} failed validation`, ExitCode.failure);
    });
}

type Target = { name: string; dir: string; missing?: Diagnostic };

/**
 * The event graph and the call graph (`kind: sop` steps) are properties of the whole catalog: the SOPs
 * not asked about are compiled too (to know who emits what, who declares which input), but only the
 * checked SOPs get their diagnostics.
 */
function addEventGraph(catalog: Catalog, results: ValidationResult[]): void {
  const checked = new Map<string, ValidationResult>();
  const graph: GraphSop[] = [];
  for (const result of results) {
    const bundle = result.ok ? catalog.compileDir(result.dir).bundle : undefined;
    if (!bundle) continue;
    checked.set(bundle.name, result);
    graph.push(graphSop(bundle.definition, result.dir));
  }
  for (const entry of catalog.entries) {
    if (checked.has(entry.name)) continue;
    const bundle = catalog.compile(entry).bundle;
    if (bundle) graph.push(graphSop(bundle.definition, entry.dir));
  }
  const compiled = new Set(graph.map((g) => g.definition.name));
  const uncompiled = catalog.entries
    .filter((e) => !compiled.has(e.name))
    .flatMap((e) => [e.name, ...e.aliases]);
  const byFile = new Map(graph.map((g) => [g.source.file, g.definition.name]));
  for (const d of [...eventGraphDiagnostics(graph), ...sopCallDiagnostics(graph, uncompiled)]) {
    const result = checked.get(byFile.get(d.file) ?? '');
    if (!result) continue;
    result.diagnostics.push(d);
    if (d.severity === 'error') result.ok = false;
  }
}

function resolveTarget(catalog: Catalog, target: string): Target {
  const asPath = path.resolve(target);
  if (fs.existsSync(asPath)) {
    const dir = fs.statSync(asPath).isDirectory() ? asPath : path.dirname(asPath);
    return { name: path.basename(dir), dir };
  }
  const entry = catalog.find(target);
  if (entry) return { name: entry.name, dir: entry.dir };
  return {
    name: target,
    dir: asPath,
    missing: diagnostic(
      'SOP002',
      `${target} is neither a folder with ${SOP_FILE} nor an SOP of the catalog`,
      { file: target },
      `known SOPs: ${catalog.names().join(', ') || 'none'}`,
    ),
  };
}

function printResults(results: ValidationResult[]): void {
  let errors = 0;
  let warnings = 0;
  for (const result of results) {
    for (const d of result.diagnostics) {
      process.stdout.write(`${formatDiagnostic(d)}\n`);
      if (d.severity === 'error') errors++;
      else warnings++;
    }
    process.stdout.write(
      `${result.ok ? 'ok  ' : 'FAIL'}  ${result.sop}${result.hash ? `  ${result.hash.slice(0, 12)}` : ''}\n`,
    );
  }
  process.stdout.write(
    `${results.length} checked, ${errors} error${errors === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'}\n`,
  );
}
