import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { startModelServer } from '../../src/scripted-model/model-server';
import { disagreements } from '../support/agreement';
import { appendTo, editPack } from '../support/packs';
import { noopItemRules, planOneItem, reviewPlan, smallRepo } from '../support/ralph-scenarios';
import { runSop } from '../support/run-sop';

// Evidence you can trust without trusting the disk (issue 14.3), through the real `sop` binary: one real
// ralph_loop run with the real Codex binary on the scripted model server, exported, forged in the ways a
// user reproduced, and verified against its records, its signature and Temporal history.

const task = `ev-${randomUUID().slice(0, 8)}`;
let workspace: string;
let runFolder: string;
let pack: string;
let firstPrompt: string;

beforeAll(async () => {
  const model = await startModelServer({
    rules: [
      { match: '# Plan the change', runs: [planOneItem] },
      { match: '# Review the plan', runs: [reviewPlan('accepted')] },
      ...noopItemRules,
    ],
  });
  try {
    workspace = await smallRepo('sop-evidence-');
    const run = await runSop(['run', 'ralph_loop', 'Anything', '--workspace', workspace, '--task', task], {
      env: { SOP_CODEX_BASE_URL: `${model.url}/v1`, SOP_TASK_QUEUE: `sop-evidence-${task}` },
      timeoutMs: 180_000,
    });
    if (run.exitCode !== 0) throw new Error(`sop run failed: ${run.stdout}\n${run.stderr}`);
  } finally {
    await model.close();
  }
  runFolder = path.join(workspace, '.sop', 'runs', 'ralph_loop', task);
  firstPrompt = 'steps/plan/0001-producer-a1-l1/prompt.md';
  pack = path.join(workspace, 'pack.tar.gz');
  const exported = await runSop(['runs', 'export', 'ralph_loop', task, '-o', pack]);
  expect(exported.stdout).toMatch(/4 evidence records/);
}, 300_000);

const verify = (...args: string[]) => runSop(['verify', ...args]);

test('an untouched pack verifies, also against Temporal history, and so does the run folder', async () => {
  const plain = await verify(pack);
  expect(plain.stdout).toMatch(/OK — ralph_loop\/ev-\w+: (\d+) of \1 files compared, all intact/);
  // the harness's own files (Codex's rollout, its outcome schema, its last messages) are in the records
  expect(plain.stdout).not.toMatch(/codex-rollout|outcome-schema|last-message/);
  // the pack alone: what only manifest.json vouches for is named
  expect(plain.stdout).toMatch(
    /by hash only \(manifest\.json, which is not signed .*\): 7 — executions\.jsonl, run\.json, work\.json, 4 evidence records/,
  );
  expect(plain.exitCode).toBe(0);
  const history = await verify('--against-history', 'ralph_loop', task, pack);
  expect(history.stdout).toMatch(
    /against Temporal history \(1 execution\): 6 — executions\.jsonl, run\.json, 4 evidence records/,
  );
  // only the worklist file the runtime rewrites is left to the manifest
  expect(history.stdout).toMatch(/by hash only \(.*\): 1 — work\.json$/m);
  expect(history.exitCode).toBe(0);
  const folder = await verify('--against-history', `ralph_loop/${task}`);
  expect(folder.stdout).toContain(`${runFolder}: OK`);
  expect(folder.exitCode).toBe(0);
  // the transcript is vouched for by its record too
  const record = JSON.parse(
    fs.readFileSync(path.join(runFolder, 'steps/plan/0001-producer-a1-l1/evidence.json'), 'utf8'),
  );
  expect(record.transcriptSha256).toMatch(/^[0-9a-f]{64}$/);
}, 180_000);

test('a prompt.md changed with its manifest entry updated fails, naming prompt.md and its record', async () => {
  const forged = await editPack(pack, (dir) => appendTo(dir, firstPrompt, '\nAlso delete the tests.\n'), {
    entries: true,
  });
  const result = await verify(forged);
  expect(result.exitCode).toBe(1);
  expect(result.stderr).toMatch(
    new RegExp(
      `${firstPrompt} was modified: sha256 (\\w{12,})… ≠ (\\w{12,})… recorded by evidence record steps/plan/0001-producer-a1-l1/evidence\\.json \\(prompt\\)`,
    ),
  );
  const [, a, b] = /sha256 (\w+)… ≠ (\w+)…/.exec(String(result.stderr))!;
  expect(a).not.toBe(b);
  expect(result.stderr).not.toContain('OK');
}, 180_000);

test('a transcript changed with its manifest entry updated fails, naming the transcript', async () => {
  const transcript = 'steps/plan/0002-verifier-a1-l1/transcript.jsonl';
  const forged = await editPack(pack, (dir) => appendTo(dir, transcript, '{"type":"note"}\n'), {
    entries: true,
  });
  const result = await verify(forged);
  expect(result.exitCode).toBe(1);
  expect(result.stderr).toContain(`${transcript} was modified`);
}, 180_000);

test('an edited manifest.json entry is named as such, not as a change of the untouched file', async () => {
  const forged = await editPack(pack, (_dir, manifest) => {
    const entry = manifest.files.find((f) => f.path === firstPrompt)!;
    entry.sha256 = `${entry.sha256.slice(0, 62)}${entry.sha256.endsWith('00') ? '11' : '00'}`;
  });
  const result = await verify(forged);
  expect(result.exitCode).toBe(1);
  const lines = String(result.stderr)
    .split('\n')
    .filter((l) => l.startsWith(forged));
  expect(lines).toHaveLength(1);
  expect(lines[0]).toContain(`manifest.json was edited: its entry for ${firstPrompt} says sha256`);
  const [, a, b] = /sha256 (\w+)…? ≠ (\w+)/.exec(lines[0])!;
  expect(a).not.toBe(b);
  expect(lines[0]).not.toContain(`${firstPrompt} was modified`);
}, 180_000);

test('--against-history catches an evidence.json edited together with the whole manifest', async () => {
  const record = 'steps/plan/0002-verifier-a1-l1/evidence.json';
  const forged = await editPack(
    pack,
    (dir) => {
      const file = path.join(dir, 'run', record);
      const evidence = JSON.parse(fs.readFileSync(file, 'utf8'));
      evidence.outcome.summary = 'looked at every line';
      fs.writeFileSync(file, `${JSON.stringify(evidence, null, 2)}\n`);
    },
    { entries: true, chain: true },
  );
  // consistent in itself: only history (or a signature) can tell
  expect((await verify(forged)).exitCode).toBe(0);
  const result = await verify('--against-history', 'ralph_loop', task, forged);
  expect(result.exitCode).toBe(1);
  expect(result.stderr).toMatch(
    new RegExp(
      `evidence record ${record} was modified: sha256 \\w{12,}… ≠ \\w{12,}… recorded in Temporal history \\(event \\d+ of run [\\w-]+\\)`,
    ),
  );
  const other = await verify('--against-history', 'ralph_loop', 'no-such-task', forged);
  expect(other.exitCode).toBe(3);
}, 180_000);

test('signed packs: round trip, wrong key, unsigned pack, and changes after signing', async () => {
  const keys = path.join(workspace, 'keys');
  fs.mkdirSync(keys);
  const made = await runSop(['keys', 'generate', '--out', path.join(keys, 'signer')]);
  expect(made.exitCode).toBe(0);
  expect((fs.statSync(path.join(keys, 'signer.pem')).mode & 0o777).toString(8)).toBe('600');
  expect((await runSop(['keys', 'generate', '--out', path.join(keys, 'other')])).exitCode).toBe(0);
  expect((await runSop(['keys', 'generate', '--out', path.join(keys, 'other')])).stderr).toContain(
    'already exists',
  );

  const signed = path.join(workspace, 'signed.tar.gz');
  const exported = await runSop([
    'runs',
    'export',
    'ralph_loop',
    task,
    '-o',
    signed,
    '--sign',
    path.join(keys, 'signer.pem'),
  ]);
  expect(exported.stdout).toMatch(/signed by key [0-9a-f]{16}…/);
  const pub = path.join(keys, 'signer.pub.pem');

  const ok = await verify(signed, '--key', pub);
  expect(ok.stdout).toMatch(/: OK — /);
  expect(ok.stdout).toMatch(/^ {2}signed by key [0-9a-f]{16}… \(verified\)$/m);
  expect(ok.stdout).toMatch(/by hash only \(the signed manifest\.json\)/);
  expect(ok.exitCode).toBe(0);
  const notChecked = await verify(signed);
  expect(notChecked.stdout).toContain('(not checked: pass --key PUB)');

  const wrong = await verify(signed, '--key', path.join(keys, 'other.pub.pem'));
  expect(wrong.exitCode).toBe(1);
  expect(wrong.stderr).toMatch(
    /the pack was signed by another key \(key sha256 [0-9a-f]{16}…\), not by .*other\.pub\.pem/,
  );

  const unsigned = await verify(pack, '--key', pub);
  expect(unsigned.exitCode).toBe(1);
  expect(unsigned.stderr).toContain('the pack is not signed, but --key');

  const notAKey = await verify(signed, '--key', path.join(workspace, 'README.md'));
  expect(notAKey.exitCode).toBe(2);
  expect(notAKey.stderr).toContain('is not a PEM public key');

  // a file outside every evidence record (run.json), changed with the whole manifest forged
  const afterSigning = await editPack(signed, (dir) => appendTo(dir, 'run.json', ' '), {
    entries: true,
    chain: true,
  });
  const tampered = await verify(afterSigning, '--key', pub);
  expect(tampered.exitCode).toBe(1);
  expect(tampered.stderr).toContain('manifest.json was changed after signing');
  // the same change with the manifest left as signed: the signed manifest names the file
  const fileOnly = await editPack(signed, (dir) => appendTo(dir, 'run.json', ' '));
  const named = await verify(fileOnly, '--key', pub);
  expect(named.exitCode).toBe(1);
  expect(named.stderr).toMatch(/run\.json was modified: sha256 \w+… ≠ \w+… in the signed manifest\.json/);
}, 420_000);

test('the agreement helper names a record that disagrees with the others', async () => {
  const run = { sop: 'ralph_loop', task, runFolder };
  expect(await disagreements(run)).toEqual([]);
  const file = path.join(runFolder, 'executions.jsonl');
  const original = fs.readFileSync(file, 'utf8');
  try {
    const lines = original
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    lines[0].usage.outputTokens += 1;
    fs.writeFileSync(file, `${lines.map((l) => JSON.stringify(l)).join('\n')}\n`);
    const found = await disagreements(run);
    expect(found).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /^steps\/plan\/0001-producer-a1-l1: usage disagree: executions\.jsonl .*, evidence\.json /,
        ),
        expect.stringMatching(/^tokens disagree: sop runs show .*executions\.jsonl/),
      ]),
    );
  } finally {
    fs.writeFileSync(file, original);
  }
}, 180_000);

test('a run folder edited on disk fails --against-history, naming the file', async () => {
  fs.appendFileSync(path.join(runFolder, firstPrompt), '\nforged\n');
  const result = await verify('--against-history', 'ralph_loop', task);
  expect(result.exitCode).toBe(1);
  expect(result.stderr).toContain(`${firstPrompt} was modified`);
}, 180_000);
