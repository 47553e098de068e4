import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import { didYouMean, formatDiagnostic } from '../../shapes/diagnostics';
import { durationMs } from '../../shapes/duration';
import type { Provider } from '../../shapes/execution-plan';
import { Catalog } from '../../sop/catalog';
import type { SopBundle } from '../../sop/compile';
import { failureText, junitXml, RESULT_HEADER, resultRow } from '../../soptest/report';
import { runTests } from '../../soptest/run';
import { loadTest, type SopTest, testFiles } from '../../soptest/spec';
import { defaultWorkRoot } from '../../soptest/workspace';
import { connectWorkerConnection } from '../../temporal/connect';
import { installRuntime } from '../../worker/runtime';
import { CliError, ExitCode } from '../errors';
import { printTable } from '../output';
import { withSopClient } from '../with-client';

interface TestOptions {
  project: string;
  junit?: string;
  jobs: string;
  keep?: boolean;
  provider?: string;
  timeout: string;
}

export function registerTest(program: Command): void {
  program
    .command('test')
    .description(
      "run SOP regression tests (tests/*.yaml next to each SOP) offline: the scripted model's replies drive the real harnesses",
    )
    .argument('[sop...]', "SOP names (default: every SOP of the project's sops/ that has tests)")
    .option('-C, --project <dir>', 'project root (sops/, sop.config.yaml)', '.')
    .option('--junit <file>', 'also write the results as JUnit XML (for CI)')
    .option('-j, --jobs <n>', 'tests run at the same time', '2')
    .option('--keep', "keep every test's workspace (those of failed tests are always kept)")
    .option(
      '--provider <name>',
      "codex | claude: run every test on this provider (default: the test's or the SOP's)",
    )
    .option('--timeout <duration>', 'per test: a run still going after this is terminated and fails', '10m')
    .action(async (names: string[], opts: TestOptions) => {
      if (opts.provider && opts.provider !== 'codex' && opts.provider !== 'claude')
        throw new CliError(`--provider must be codex or claude, not "${opts.provider}"`, ExitCode.usage);
      const jobs = Number(opts.jobs);
      if (!Number.isInteger(jobs) || jobs < 1)
        throw new CliError(`--jobs must be a whole number of at least 1, not "${opts.jobs}"`, ExitCode.usage);
      let timeoutMs: number;
      try {
        timeoutMs = durationMs(opts.timeout);
      } catch {
        throw new CliError(
          `--timeout must be a duration such as 90s or 10m, not "${opts.timeout}"`,
          ExitCode.usage,
        );
      }
      const catalog = new Catalog({ projectDir: opts.project });
      const entries =
        names.length > 0
          ? names.map((name) => {
              const entry = catalog.find(name);
              if (entry) return entry;
              const suggestion = didYouMean(name, catalog.names());
              throw new CliError(
                `no SOP named "${name}"${suggestion ? `: did you mean "${suggestion}"?` : ''}`,
                ExitCode.notFound,
                'sop workflows list shows the catalog',
              );
            })
          : catalog.entries.filter((e) => e.source !== 'package' && testFiles(e.dir).length > 0);
      const tests: SopTest[] = [];
      const bundles = new Map<string, SopBundle>();
      const problems: string[] = [];
      for (const entry of entries) {
        const files = testFiles(entry.dir);
        if (names.length > 0 && files.length === 0)
          problems.push(`${entry.name} has no tests: add ${path.join(entry.dir, 'tests')}/<name>.yaml`);
        if (files.length === 0) continue;
        const compiled = catalog.compile(entry);
        if (!compiled.bundle) {
          for (const d of compiled.diagnostics) process.stderr.write(`${formatDiagnostic(d)}\n`);
          problems.push(`${entry.name} does not compile (sop validate ${entry.dir})`);
          continue;
        }
        bundles.set(entry.name, compiled.bundle);
        for (const file of files) {
          try {
            tests.push(loadTest(entry.name, file));
          } catch (err) {
            problems.push((err as Error).message);
          }
        }
      }
      if (problems.length > 0)
        throw new CliError(problems.join('\n'), ExitCode.usage, 'fix the test files above; nothing was run');
      if (tests.length === 0)
        throw new CliError(
          `no SOP tests found under ${path.resolve(opts.project, 'sops')}`,
          ExitCode.notFound,
          'an SOP test is a file <sop folder>/tests/<name>.yaml (see docs/testing.md)',
        );

      const workRoot = defaultWorkRoot();
      const results = await withSopClient(
        async (client) => {
          installRuntime('ERROR'); // a failed run is an expected test outcome, not a warning
          const { connection } = await connectWorkerConnection({
            target: client.target,
            startDevServer: false,
          });
          try {
            process.stderr.write(`running ${tests.length} test(s), ${jobs} at a time\n`);
            return await runTests(tests, {
              client,
              connection,
              bundles,
              workRoot,
              jobs,
              keep: opts.keep === true,
              timeoutMs,
              provider: opts.provider as Provider | undefined,
              projectDir: path.resolve(opts.project),
              onResult: (r) =>
                process.stderr.write(`${r.ok ? 'pass' : 'FAIL'}  ${r.test.sop}/${r.test.name}\n`),
            });
          } finally {
            await connection.close();
          }
        },
        { startServer: true },
      );

      try {
        fs.rmdirSync(workRoot); // only when empty: every test passed and nothing was to be kept
      } catch {
        // workspaces kept for failed tests (or --keep) are listed below
      }
      printTable(RESULT_HEADER, results.map(resultRow));
      const failed = results.filter((r) => !r.ok);
      for (const r of failed) process.stdout.write(`\n${failureText(r)}\n`);
      if (opts.junit) {
        fs.mkdirSync(path.dirname(path.resolve(opts.junit)), { recursive: true });
        fs.writeFileSync(opts.junit, junitXml(results));
      }
      process.stdout.write(`\n${results.length - failed.length} passed, ${failed.length} failed\n`);
      if (failed.length > 0)
        throw new CliError(`${failed.length} of ${results.length} SOP tests failed`, ExitCode.failure);
    });
}
