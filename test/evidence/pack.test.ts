import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tar from 'tar';
import { exportPack, verifyPack } from '../../src/evidence/pack';

function runFolder(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sop-run-'));
  const write = (rel: string, content: string) => {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), content);
  };
  write('work.json', '{"items":[]}');
  write('steps/plan/0001-producer-a1/prompt.md', 'Plan it.');
  write('steps/plan/0001-producer-a1/evidence.json', '{"step":"plan","role":"producer"}');
  write('steps/plan/0002-verifier-a1/evidence.json', '{"step":"plan","role":"verifier"}');
  write('steps/implement/i1/0010-agent-a1/evidence.json', '{"step":"implement"}');
  return dir;
}

/** Rewrites one file inside a pack, as someone editing the evidence after the fact would. */
async function tamper(pack: string, file: string, edit: (s: string) => string): Promise<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sop-tamper-'));
  await tar.extract({ file: pack, cwd: dir });
  const target = path.join(dir, file);
  fs.writeFileSync(target, edit(fs.readFileSync(target, 'utf8')));
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
  expect(result).toMatchObject({ ok: true, problems: [] });
});

test('one changed byte in an evidence record fails verification and names the record', async () => {
  const pack = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'sop-pack-')), 'pack.tar.gz');
  await exportPack({ runFolder: runFolder(), sop: 'ralph_loop', task: 't1', run: {}, output: pack });
  const bad = await tamper(pack, 'run/steps/plan/0002-verifier-a1/evidence.json', (s) =>
    s.replace('verifier', 'verifieR'),
  );
  const result = await verifyPack(bad);
  expect(result.ok).toBe(false);
  expect(result.problems).toEqual([
    expect.stringMatching(/^evidence record steps\/plan\/0002-verifier-a1\/evidence\.json was modified/),
  ]);
});

test('editing the manifest to match an edited record breaks the chain, naming where', async () => {
  const pack = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'sop-pack-')), 'pack.tar.gz');
  await exportPack({ runFolder: runFolder(), sop: 'ralph_loop', task: 't1', run: {}, output: pack });
  // drop the first record from the chain, as if its step had never run
  const bad = await tamper(pack, 'manifest.json', (s) => {
    const m = JSON.parse(s);
    m.chain.shift();
    return JSON.stringify(m);
  });
  const result = await verifyPack(bad);
  expect(result.ok).toBe(false);
  expect(result.problems[0]).toBe('evidence chain broken at steps/plan/0002-verifier-a1/evidence.json');
});

test('a file that is not a pack is reported, not thrown', async () => {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'sop-pack-')), 'junk.tar.gz');
  fs.writeFileSync(file, 'not a tarball');
  const result = await verifyPack(file);
  expect(result.ok).toBe(false);
  expect(result.problems[0]).toMatch(/^not a readable evidence pack|^the pack has no manifest\.json/);
});
