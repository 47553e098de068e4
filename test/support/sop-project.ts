import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runSop } from './run-sop';

/**
 * A project folder with one SOP: `sops/<name>/sop.yaml` (the given lines) and its prompt files, plus
 * sop.config.yaml when `config` is given.
 */
export function sopProject(
  name: string,
  sopYaml: string[],
  prompts: Record<string, string>,
  config?: string[],
): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sop-project-'));
  const sop = path.join(dir, 'sops', name);
  fs.mkdirSync(path.join(sop, 'prompts'), { recursive: true });
  for (const [file, text] of Object.entries(prompts))
    fs.writeFileSync(path.join(sop, 'prompts', file), `${text}\n`);
  fs.writeFileSync(path.join(sop, 'sop.yaml'), [`name: ${name}`, ...sopYaml, ''].join('\n'));
  if (config) fs.writeFileSync(path.join(dir, 'sop.config.yaml'), [...config, ''].join('\n'));
  return dir;
}

/**
 * A project folder with several SOPs (`sops/<name>/sop.yaml` as given, each with a `prompts/work.md`):
 * a catalog for checks across SOPs (calls, events).
 */
export function catalogProject(prefix: string, sops: Record<string, string>): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  for (const [name, yaml] of Object.entries(sops)) {
    const dir = path.join(root, 'sops', name);
    fs.mkdirSync(path.join(dir, 'prompts'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'sop.yaml'), yaml);
    fs.writeFileSync(path.join(dir, 'prompts', 'work.md'), 'Work on {{ input.request }}.\n');
  }
  return root;
}

/** `sop run <sop> -C <project> --workspace <workspace> --task <task> --json` against a scripted model. */
export async function runProjectSop(
  sop: string,
  project: string,
  workspace: string,
  options: { modelUrl: string; task: string; provider?: 'codex' | 'claude'; env?: Record<string, string> },
) {
  const result = await runSop(
    [
      'run',
      sop,
      '-C',
      project,
      '--workspace',
      workspace,
      '--task',
      options.task,
      '--provider',
      options.provider ?? 'codex',
      '--json',
    ],
    {
      env: {
        SOP_CODEX_BASE_URL: `${options.modelUrl}/v1`,
        SOP_CLAUDE_BASE_URL: options.modelUrl,
        SOP_TASK_QUEUE: `project-${sop}`,
        ...options.env,
      },
      timeoutMs: 180_000,
    },
  );
  return { ...result, output: `${result.stdout}\n${result.stderr}` };
}
