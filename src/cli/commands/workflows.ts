import type { Command } from 'commander';
import { didYouMean, formatDiagnostic } from '../../shapes/diagnostics';
import { Catalog } from '../../sop/catalog';
import { renderRouteGraph } from '../../sop/describe';
import { inputSchema, paramsSchema, planFromBundle, resolveParams } from '../../sop/plan-from-bundle';
import { CliError, ExitCode } from '../errors';
import { printJson, printTable } from '../output';

export function registerWorkflows(program: Command): void {
  const workflows = program.command('workflows').description('the SOPs this project can run (the catalog)');

  workflows
    .command('list')
    .description('SOPs from the workspace (.sop/sops), the project (sops/) and this package, by precedence')
    .option('-C, --project <dir>', 'project root (sops/, sop.config.yaml)', '.')
    .option('--json', 'machine-readable output')
    .action((opts: { project: string; json?: boolean }) => {
      const catalog = new Catalog({ projectDir: opts.project });
      if (opts.json) return printJson(catalog.entries);
      if (catalog.entries.length === 0)
        return void process.stdout.write('no SOPs found (sop init creates one)\n');
      printTable(
        ['NAME', 'VERSION', 'SOURCE', 'TITLE'],
        catalog.entries.map((e) => [
          e.aliases.length > 0 ? `${e.name} (${e.aliases.join(', ')})` : e.name,
          e.version ?? '-',
          e.source,
          e.title ?? '',
        ]),
      );
    });

  workflows
    .command('show')
    .description('steps, routes, artifacts and policies of one SOP, with a text graph of its route table')
    .argument('<name>', 'SOP name or alias')
    .option('-C, --project <dir>', 'project root (sops/, sop.config.yaml)', '.')
    .option('--json', 'machine-readable output')
    .action((name: string, opts: { project: string; json?: boolean }) => {
      const catalog = new Catalog({ projectDir: opts.project });
      const entry = catalog.find(name);
      if (!entry) {
        const suggestion = didYouMean(name, catalog.names());
        throw new CliError(
          `no SOP named "${name}"${suggestion ? `: did you mean "${suggestion}"?` : ''}`,
          ExitCode.notFound,
          'sop workflows list shows the catalog',
        );
      }
      const result = catalog.compile(entry);
      if (!result.bundle) {
        for (const d of result.diagnostics) process.stderr.write(`${formatDiagnostic(d)}\n`);
        throw new CliError(`${entry.name} does not compile`, ExitCode.failure, `sop validate ${entry.dir}`);
      }
      const bundle = result.bundle;
      const plan = planFromBundle(bundle);
      if (opts.json) {
        return printJson({
          name: bundle.name,
          title: bundle.title,
          description: bundle.description,
          version: bundle.version,
          aliases: bundle.aliases,
          source: entry.source,
          dir: entry.dir,
          hash: bundle.hash,
          inputSchema: inputSchema(bundle),
          paramsSchema: paramsSchema(bundle),
          params: resolveParams(bundle),
          plan,
          warnings: result.diagnostics,
        });
      }
      const out: string[] = [];
      out.push(
        `${bundle.name}${bundle.version ? ` v${bundle.version}` : ''}  (${entry.source}: ${entry.dir})`,
      );
      if (bundle.title) out.push(bundle.title);
      out.push(`bundle ${bundle.hash}`);
      const fields = (schema: Record<string, unknown>) =>
        Object.entries((schema.properties ?? {}) as Record<string, { type?: string; default?: unknown }>).map(
          ([k, v]) =>
            `${k}: ${v.type ?? 'any'}${v.default !== undefined ? ` = ${JSON.stringify(v.default)}` : ''}`,
        );
      out.push('', `input:  ${fields(inputSchema(bundle)).join(', ') || '(none)'}`);
      out.push(`params: ${fields(paramsSchema(bundle)).join(', ') || '(none)'}`);
      if (plan.artifacts.length > 0) {
        out.push('', 'artifacts:');
        for (const a of plan.artifacts)
          out.push(
            `  ${a.name} (${a.kind}${a.required ? ', required' : ''}${a.schema ? ', schema' : ''}): ${a.path}`,
          );
      }
      for (const w of plan.worklists)
        out.push(
          `worklist ${w.name}: items from ${w.from}.${w.collection} (id ${w.id}, title ${w.title}, status ${w.status})`,
        );
      out.push('', 'steps and routes:', renderRouteGraph(plan));
      for (const d of result.diagnostics) out.push('', formatDiagnostic(d));
      process.stdout.write(`${out.join('\n')}\n`);
    });
}
