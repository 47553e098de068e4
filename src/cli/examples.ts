import type { Command } from 'commander';

/**
 * The examples `--help` shows, per command path (`sop runs show` is "runs show"). Kept in one place so
 * every command has some; a test checks that no command is missing here.
 */
const EXAMPLES: Record<string, string[]> = {
  '': [
    'sop run bugfix "The date parser rejects ISO weeks" --workspace ~/src/app',
    'sop runs list --status waiting_input',
    'sop logs bugfix/2026-11-25-1a2b3c4d --follow',
  ],
  init: ['sop init', 'sop init ~/src/app --force'],
  workflows: ['sop workflows list', 'sop workflows show ralph_loop'],
  'workflows list': ['sop workflows list', 'sop workflows list -C ~/src/app --json'],
  'workflows show': ['sop workflows show bugfix', 'sop workflows show ralph_loop --json'],
  validate: ['sop validate', 'sop validate sops/bugfix sops/review --json'],
  run: [
    'sop run bugfix "Fix the crash on empty input" --workspace ~/src/app',
    'sop run ralph_loop --input-file request.yaml --param max_rework=1 --task slugify-1',
    'sop run review "Review the last commit" --provider claude --detach',
    'sop run bugfix "..." --no-worker      # when `sop dev` or `sop worker` already serves the task queue',
  ],
  test: [
    'sop test',
    'sop test bugfix ralph_loop --junit reports/sop-tests.xml',
    'sop test review --provider claude --keep',
  ],
  runs: ['sop runs list', 'sop runs show bugfix t1'],
  'runs list': ['sop runs list', 'sop runs list --sop bugfix --status failed --limit 10 --json'],
  quotas: ['sop quotas', 'sop quotas --json'],
  'runs show': ['sop runs show bugfix t1', 'sop runs show bugfix/t1 --json'],
  'runs watch': ['sop runs watch', 'sop runs watch --sop bugfix --json'],
  'runs export': ['sop runs export bugfix t1 -o bugfix-t1.tar.gz'],
  logs: [
    'sop logs bugfix t1',
    'sop logs bugfix/t1 --follow --exit-status',
    'sop logs bugfix t1 --json | jq -c "select(.step == \\"fix\\")"',
    'sop logs bugfix t1 --raw fix',
  ],
  answer: [
    'sop answer bugfix t1 --value \'{"details": "fails on Node 22 only"}\'',
    'sop answer change t1 --approve',
    'sop answer change t1 --reject "needs a changelog entry"',
  ],
  message: ['sop message bugfix t1 "Keep the public API unchanged"'],
  cancel: ['sop cancel bugfix t1', 'sop cancel bugfix/t1'],
  resume: ['sop resume bugfix t1', 'sop resume bugfix t1 --detach'],
  rerun: [
    'sop rerun bugfix t1 --step verify --context "Also check the README"',
    'sop rerun ralph_loop t1 --step implement --item strip-punctuation',
  ],
  triggers: ['sop triggers sync', 'sop triggers list'],
  'triggers sync': ['sop triggers sync', 'sop triggers sync -C ~/src/app --json'],
  'triggers list': ['sop triggers list', 'sop triggers list --json'],
  'triggers show': ['sop triggers show nightly/sweep', 'sop triggers show nightly.sweep --json'],
  'triggers pause': ['sop triggers pause nightly/sweep --note "release freeze"'],
  'triggers unpause': ['sop triggers unpause nightly/sweep'],
  'triggers trigger-now': ['sop triggers trigger-now nightly/sweep'],
  'triggers backfill': [
    'sop triggers backfill nightly/sweep --from 2026-11-30T00:00:00Z --to 2026-12-01T00:00:00Z',
  ],
  verify: [
    'sop verify bugfix-t1.tar.gz',
    'sop verify bugfix-t1.tar.gz --key signer.pub.pem',
    'sop verify --against-history bugfix t1 bugfix-t1.tar.gz',
    'sop verify --against-history bugfix t1      # the run folder on disk',
    'sop verify .sop/runs/bugfix/t1              # a run folder against its own records',
  ],
  keys: ['sop keys generate --out ~/.config/sop/signer'],
  'keys generate': [
    'sop keys generate --out ~/.config/sop/signer',
    'sop runs export bugfix t1 -o pack.tar.gz --sign ~/.config/sop/signer.pem',
    'sop verify pack.tar.gz --key ~/.config/sop/signer.pub.pem',
  ],
  temporal: ['sop temporal start', 'sop temporal status --json', 'sop temporal stop'],
  'temporal start': ['sop temporal start', 'SOP_TEMPORAL_PORT=7300 sop temporal start'],
  'temporal stop': ['sop temporal stop'],
  'temporal status': [
    'sop temporal status',
    'TEMPORAL_ADDRESS=temporal.internal:7233 sop temporal status --json',
  ],
  worker: ['sop worker', 'SOP_TASK_QUEUE=team-a sop worker --task-queue team-a'],
  serve: [
    'sop serve',
    'SOP_SERVE_PORT=9000 sop serve --project examples/triage',
    'sop serve --host 0.0.0.0 --body-limit 5000000',
  ],
  dev: ['sop dev', 'sop dev --scenario examples/demo/ralph_loop.scenario.yaml --keep-server'],
  doctor: ['sop doctor', 'sop doctor --json'],
  smoke: ['sop smoke', 'sop smoke --json'],
};

/** The command's path below the program: "" for `sop` itself, "runs show" for `sop runs show`. */
function commandPath(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/** Adds an "Examples:" section to the help of `command` and every subcommand that has examples. */
export function addExamples(command: Command): void {
  const lines = EXAMPLES[commandPath(command)];
  if (lines) command.addHelpText('after', `\nExamples:\n${lines.map((l) => `  $ ${l}`).join('\n')}\n`);
  for (const sub of command.commands) addExamples(sub);
}
