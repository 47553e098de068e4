import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tar from 'tar';
import { exportPack } from '../../src/evidence/pack';
import { verifyPack, verifyRunFolder } from '../../src/evidence/verify';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

/** A run folder like the agent activity writes: per execution a prompt, a transcript and an evidence record. */
function runFolder(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sop-run-'));
  const write = (rel: string, content: string) => {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), content);
  };
  const execution = (folder: string, step: string, at: number, artifacts: Record<string, string> = {}) => {
    const prompt = `Do ${folder}.`;
    const transcript = `{"type":"thread.started","folder":"${folder}"}\n`;
    const rollout = `{"type":"session_meta","folder":"${folder}"}\n`;
    write(`${folder}/prompt.md`, prompt);
    write(`${folder}/transcript.jsonl`, transcript);
    write(`${folder}/codex-rollout.jsonl`, rollout);
    for (const [name, text] of Object.entries(artifacts)) write(name, text);
    write(
      `${folder}/evidence.json`,
      JSON.stringify({
        sop: 'ralph_loop',
        task: 't1',
        step,
        startedAt: new Date(at).toISOString(),
        durationMs: 10,
        promptSha256: sha(prompt),
        transcriptSha256: sha(transcript),
        files: { 'codex-rollout.jsonl': sha(rollout) },
        artifacts: Object.entries(artifacts).map(([name, text]) => ({
          name,
          path: `.sop/runs/ralph_loop/t1/${name}`,
          exists: true,
          sha256: sha(text),
        })),
      }),
    );
  };
  execution('steps/plan/0001-producer-a1', 'plan', 1000, { 'work.json': '{"items":[]}' });
  execution('steps/plan/0002-verifier-a1', 'plan', 2000, { 'plan_review.md': 'ok' });
  execution('steps/implement/i1/0010-agent-a1', 'implement', 3000);
  write('run.json', '{"status":"completed"}');
  return dir;
}

async function exported(folder = runFolder()): Promise<string> {
  const pack = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'sop-pack-')), 'pack.tar.gz');
  await exportPack({ runFolder: folder, sop: 'ralph_loop', task: 't1', run: {}, output: pack });
  return pack;
}

/** Rewrites files inside a pack, as someone editing the evidence after the fact would. */
async function tamper(pack: string, edits: Record<string, (s: string) => string>): Promise<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sop-tamper-'));
  await tar.extract({ file: pack, cwd: dir });
  for (const [file, edit] of Object.entries(edits)) {
    const target = path.join(dir, file);
    fs.writeFileSync(target, edit(fs.readFileSync(target, 'utf8')));
  }
  const out = path.join(dir, 'tampered.tar.gz');
  await tar.create({ gzip: true, file: out, cwd: dir }, ['manifest.json', 'run']);
  return out;
}

test('an exported pack verifies, with the evidence records chained in execution order', async () => {
  const pack = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'sop-pack-')), 'pack.tar.gz');
  const manifest = await exportPack({
    runFolder: runFolder(),
    sop: 'ralph_loop',
    task: 't1',
    run: { status: 'completed' },
    output: pack,
  });
  expect(manifest.chain.map((c) => c.record)).toEqual([
    'steps/plan/0001-producer-a1/evidence.json',
    'steps/plan/0002-verifier-a1/evidence.json',
    'steps/implement/i1/0010-agent-a1/evidence.json',
  ]);
  const result = await verifyPack(pack);
  expect(result).toMatchObject({ ok: true, problems: [], checked: { records: 3 } });
});

test('one changed byte in an evidence record fails verification and names the record', async () => {
  const bad = await tamper(await exported(), {
    'run/steps/plan/0002-verifier-a1/evidence.json': (s) => s.replace('"plan"', '"plaN"'),
  });
  const result = await verifyPack(bad);
  expect(result.ok).toBe(false);
  expect(result.problems).toEqual([
    expect.stringMatching(
      /^evidence record steps\/plan\/0002-verifier-a1\/evidence\.json was modified: sha256 \w{12,}… ≠ \w{12,}… in the evidence chain$/,
    ),
  ]);
});

test('an artifact changed after its last writer is named with the record that holds its hash', async () => {
  const bad = await tamper(await exported(), { 'run/plan_review.md': () => 'forged' });
  const result = await verifyPack(bad);
  expect(result.problems).toEqual([
    expect.stringMatching(
      /^plan_review\.md was modified: .* recorded by evidence record steps\/plan\/0002-verifier-a1\/evidence\.json \(artifact plan_review\.md\)$/,
    ),
  ]);
});

test('dropping a record from the chain in manifest.json is named where the chain breaks', async () => {
  const bad = await tamper(await exported(), {
    'manifest.json': (s) => {
      const m = JSON.parse(s);
      m.chain.shift();
      return JSON.stringify(m);
    },
  });
  const result = await verifyPack(bad);
  expect(result.ok).toBe(false);
  expect(result.problems).toEqual([
    'the evidence chain is broken at steps/plan/0002-verifier-a1/evidence.json (its chain entry in manifest.json was edited)',
    'evidence record steps/plan/0001-producer-a1/evidence.json is not in the evidence chain (added, or dropped from manifest.json)',
  ]);
});

test('a hash edited at its end in manifest.json is shown with enough characters to differ', async () => {
  const bad = await tamper(await exported(), {
    'manifest.json': (s) => {
      const m = JSON.parse(s);
      const entry = m.files.find((f: { path: string }) => f.path === 'run.json');
      entry.sha256 = `${entry.sha256.slice(0, 60)}0000`;
      return JSON.stringify(m);
    },
  });
  const [problem] = (await verifyPack(bad)).problems;
  const [, a, b] = /sha256 (\w+)…? ≠ (\w+)/.exec(problem) ?? [];
  expect(problem).toMatch(/^run\.json does not match manifest\.json/);
  expect(a).not.toBe(b);
});

test('a file that is not a pack is reported, not thrown', async () => {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'sop-pack-')), 'junk.tar.gz');
  fs.writeFileSync(file, 'not a tarball');
  const result = await verifyPack(file);
  expect(result.ok).toBe(false);
  expect(result.problems[0]).toMatch(/^not a readable evidence pack|^the pack has no manifest\.json/);
});

test('the pack alone says which file it compared with what: records for prompts, transcripts, harness files and artifacts, manifest.json for the rest', async () => {
  const result = await verifyPack(await exported());
  expect(result.ok).toBe(true);
  expect(result.coverage.history).toEqual([]);
  expect(result.coverage.unchecked).toEqual([]);
  expect(result.coverage.records).toHaveLength(3 * 3 + 2);
  expect(result.coverage.records).toContain('steps/plan/0001-producer-a1/codex-rollout.jsonl');
  expect(result.coverage.hashOnly).toEqual([
    'run.json',
    'steps/implement/i1/0010-agent-a1/evidence.json',
    'steps/plan/0001-producer-a1/evidence.json',
    'steps/plan/0002-verifier-a1/evidence.json',
  ]);
});

test('a harness file the record hashed, changed with its manifest entry, is named with the record that holds its hash', async () => {
  const pack = await exported();
  const rollout = 'run/steps/plan/0002-verifier-a1/codex-rollout.jsonl';
  const bad = await tamper(pack, {
    [rollout]: () => '{"type":"session_meta","denials":[]}\n',
    'manifest.json': (s) => {
      const m = JSON.parse(s);
      const entry = m.files.find((f: { path: string }) => `run/${f.path}` === rollout);
      entry.sha256 = sha('{"type":"session_meta","denials":[]}\n');
      return JSON.stringify(m);
    },
  });
  expect((await verifyPack(bad)).problems).toEqual([
    expect.stringMatching(
      /^steps\/plan\/0002-verifier-a1\/codex-rollout\.jsonl was modified: sha256 \w{12,}… ≠ \w{12,}… recorded by evidence record steps\/plan\/0002-verifier-a1\/evidence\.json \(file codex-rollout\.jsonl\)$/,
    ),
  ]);
});

test('a run folder without history: files against their records, the records and run.json named as not checked', () => {
  const folder = runFolder();
  const result = verifyRunFolder(folder);
  expect(result.ok).toBe(true);
  expect(result.coverage.records).toHaveLength(11);
  expect(result.coverage.hashOnly).toEqual([]);
  expect(result.coverage.unchecked).toEqual([
    'run.json',
    'steps/implement/i1/0010-agent-a1/evidence.json',
    'steps/plan/0001-producer-a1/evidence.json',
    'steps/plan/0002-verifier-a1/evidence.json',
  ]);
  fs.appendFileSync(path.join(folder, 'steps/plan/0001-producer-a1/prompt.md'), 'and more');
  expect(verifyRunFolder(folder).problems).toEqual([
    expect.stringMatching(/^steps\/plan\/0001-producer-a1\/prompt\.md was modified: /),
  ]);
});
