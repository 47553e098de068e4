// The folders of src/ import only folders below them and no file imports itself back through others
// (.dependency-cruiser.cjs holds the layer order); workflow code imports activities only for their types.
// The fixture under test/layers/fixture/src breaks each rule once, so the check is shown to catch them.
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const root = path.resolve(__dirname, '../..');
const depcruise = path.join(root, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs');
const config = path.join(root, '.dependency-cruiser.cjs');

interface Cruise {
  modules: Array<{ source: string; dependencies: Array<{ module: string; resolved: string }> }>;
  summary: {
    violations: Array<{ from: string; to: string; rule: { name: string }; cycle?: Array<{ name: string }> }>;
  };
}

/** dependency-cruiser's JSON report on `<dir>/src` (it exits non-zero when it finds violations). */
function cruise(dir: string): Promise<Cruise> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [depcruise, 'src', '--config', config, '--output-type', 'json'],
      { cwd: dir, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (!stdout.trim()) return reject(err ?? new Error(`dependency-cruiser printed nothing: ${stderr}`));
        resolve(JSON.parse(stdout) as Cruise);
      },
    );
  });
}

/** Each violation as one line: the file, what it imports, the rule (and the circle, for a cycle). */
function layerProblems(report: Cruise): string[] {
  return report.summary.violations.map((v) => {
    const cycle = v.cycle?.length ? ` (${[v.from, ...v.cycle.map((c) => c.name)].join(' → ')})` : '';
    return `${v.from} imports ${v.to}: rule ${v.rule.name}${cycle}`;
  });
}

/**
 * Workflow files that import an activity module for more than its types (Temporal's pattern: workflows
 * `import type` the activities' signatures; their code must never enter the workflow bundle).
 */
function valueImportsOfActivities(dir: string, report: Cruise): string[] {
  const problems: string[] = [];
  for (const mod of report.modules) {
    if (!mod.source.startsWith('src/workflows/')) continue;
    const text = fs.readFileSync(path.join(dir, mod.source), 'utf8');
    for (const dep of mod.dependencies) {
      if (!dep.resolved.startsWith('src/activities/')) continue;
      const quoted = `['"]${dep.module.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}['"]`;
      const statements = text.match(new RegExp(`^(?:import|export)\\b[^;]*?from\\s*${quoted}`, 'gm')) ?? [];
      const typeOnly = (s: string) =>
        /^import\s+type\b/.test(s) ||
        /^import\s*\{([^}]*)\}/
          .exec(s)?.[1]
          .split(',')
          .every((n) => !n.trim() || /^type\s/.test(n.trim()));
      for (const statement of statements.length ? statements : [`(an import of ${dep.module})`])
        if (!typeOnly(statement))
          problems.push(
            `${mod.source} imports ${dep.resolved} for more than its types: rule workflows-type-only`,
          );
    }
  }
  return problems;
}

describe('layers of src/', () => {
  let source: Cruise;
  let fixture: Cruise;
  const fixtureDir = path.join(__dirname, 'fixture');
  beforeAll(async () => {
    [source, fixture] = await Promise.all([cruise(root), cruise(fixtureDir)]);
  }, 60_000);

  test('no folder imports a folder above it and no file imports itself back', () => {
    expect(layerProblems(source)).toEqual([]);
    expect(source.modules.length).toBeGreaterThan(100);
  });

  test('workflow code imports activities only for their types', () => {
    expect(valueImportsOfActivities(root, source)).toEqual([]);
  });

  test('the check names an upward import, a circle of type imports, an unplaced folder and a value import of an activity', () => {
    expect(layerProblems(fixture).sort()).toEqual([
      'src/extra/thing.ts imports src/cli/command.ts: rule layer-unplaced',
      'src/shapes/upward.ts imports src/cli/command.ts: rule layer-shapes',
      'src/sop/first.ts imports src/sop/second.ts: rule no-circular (src/sop/first.ts → src/sop/second.ts → src/sop/first.ts)',
    ]);
    expect(valueImportsOfActivities(fixtureDir, fixture)).toEqual([
      'src/workflows/run.ts imports src/activities/act.ts for more than its types: rule workflows-type-only',
    ]);
  });
});
