import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import { CliError, ExitCode } from '../errors';

/** What `sop init` writes: a project config, one working example SOP, and the run folder kept out of git. */
const FILES: Record<string, string> = {
  'sop.config.yaml': `# Project-wide defaults and named policies for every SOP in sops/ (see docs/sop-format.md in sop-runtime).
defaults:
  provider: codex          # or claude
  timeout: 30m             # per harness execution
  max_attempts: 3          # agent-protocol failures tolerated per role before the failure route
policies:
  # Agents that change the code: the workspace is writable, secrets are unreadable, no network.
  edit: { sandbox: workspace-write, deny_read: [.env, .secrets/**], deny_write: [.git/], network: none }
  # Reviewers judge the work; they may only write their own files in the run folder.
  review: { sandbox: workspace-write, allow_write: [.sop/], deny_read: [.env, .secrets/**], network: none }
`,
  'sops/change/sop.yaml': `name: change
title: Make a change, then have it independently reviewed
version: 1

input:
  request: { type: string, minLength: 1, description: What should change in the repository }

defaults: { policy: edit }

artifacts:
  review: { kind: md, path: "{{ run.folder }}/review.md" }

steps:
  change:
    kind: produce_verify
    producer: { prompt: prompts/change.md }
    verifier: { prompt: prompts/review.md, writes: [review], policy: review }
    routes:
      accepted:     { finish: true, requires: [review] }
      needs_rework: { to: change, requires: [review] }
    max_rework: 2
    on_rework_exhausted:
      request_input:
        question: "The change was rejected {{ step.rework }} times. Approve it anyway, or give guidance."
        answer: { approve: boolean, guidance: { type: string, required: false } }
`,
  'sops/change/prompts/change.md': `# Make the change

{{ input.request }}

Keep the change small and focused, follow the conventions of the repository, and run its tests.
`,
  'sops/change/prompts/review.md': `# Review the change

The request was: {{ input.request }}

Read the diff (\`git diff\`) and the tests. Write your review to \`{{ run.folder }}/review.md\`: what is right, what
is wrong, and what must change. Answer \`accepted\` only if the change does what was asked and the tests pass;
otherwise \`needs_rework\` with the findings.
`,
};

const GITIGNORE_LINES = ['# SOP runtime: run folders (prompts, transcripts, evidence)', '.sop/runs/'];

export function registerInit(program: Command): void {
  program
    .command('init')
    .description('scaffold a project: sop.config.yaml, an example SOP in sops/, .gitignore entries')
    .argument('[dir]', 'project directory', '.')
    .option('--force', 'overwrite files that exist')
    .action((dir: string, opts: { force?: boolean }) => {
      const root = path.resolve(dir);
      if (fs.existsSync(root) && !fs.statSync(root).isDirectory())
        throw new CliError(`${root} is not a directory`, ExitCode.usage);
      const existing = Object.keys(FILES).filter((f) => fs.existsSync(path.join(root, f)));
      if (existing.length > 0 && !opts.force) {
        throw new CliError(
          `not overwriting ${existing.join(', ')} in ${root}`,
          ExitCode.failure,
          'pass --force to overwrite, or init another directory',
        );
      }
      for (const [rel, text] of Object.entries(FILES)) {
        const file = path.join(root, rel);
        fs.mkdirSync(path.dirname(file), { recursive: true });
        fs.writeFileSync(file, text);
        process.stdout.write(`wrote ${rel}\n`);
      }
      const gitignore = path.join(root, '.gitignore');
      const current = fs.existsSync(gitignore) ? fs.readFileSync(gitignore, 'utf8') : '';
      if (!current.split('\n').some((l) => l.trim() === '.sop/runs/' || l.trim() === '.sop/')) {
        fs.writeFileSync(
          gitignore,
          `${current}${current && !current.endsWith('\n') ? '\n' : ''}${GITIGNORE_LINES.join('\n')}\n`,
        );
        process.stdout.write('added .sop/runs/ to .gitignore\n');
      }
      process.stdout.write(
        `\nnext: sop validate -C ${dir} · sop workflows show change -C ${dir} · sop run change "..." --workspace ${dir}\n`,
      );
    });
}
