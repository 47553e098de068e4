import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execa } from 'execa';
import { createTestDevServer, type TestDevServer } from '../support/dev-server';
import { killAfterAll } from '../support/kill-after-all';
import { codeBlocks, readPage, root } from './markdown';

// The README's five-minute tour, run as it is written there (the real Codex binary against the demo's
// scripted model), on a dev server of its own: its last line stops `sop dev` and with it the dev server.
// Two changes only: /tmp/tour becomes a fresh folder, and where the README says "after about 10 s" the test
// waits until the run shows waiting_input.

const readme = readPage('README.md');
const tour = codeBlocks(readme.slice(readme.indexOf('## A five-minute tour'))).find((b) => b.lang === 'sh');

let server: TestDevServer;
afterAll(async () => {
  await server?.stop();
});

test('the README tour runs: a run waits for an answer, completes once approved, and its evidence verifies', async () => {
  server = await createTestDevServer();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sop-tour-'));
  const body = String(tour?.body);
  expect(body).toContain('sop runs show ralph_loop tour');
  const script = [
    'shopt -s expand_aliases',
    body
      .replaceAll('/tmp/tour', path.join(dir, 'tour'))
      .replace(
        /^sop runs show ralph_loop tour/m,
        'until sop runs show ralph_loop tour | grep -q waiting_input; do sleep 1; done\n$&',
      ),
  ].join('\n');
  const result = await killAfterAll(
    execa('bash', ['-c', script], {
      cwd: root,
      env: { ...server.env, SOP_IDENTITY: 'tour@docs' },
      reject: false,
      all: true,
      timeout: 240_000,
    }),
  );
  const out = result.all;
  expect(out).toContain('started ralph_loop/tour');
  expect(out).toMatch(
    /ralph_loop\/tour: waiting_input\n[\s\S]*Item collapse-whitespace .* Approve it anyway/,
  );
  expect(out).toContain('answer accepted by ralph_loop/tour');
  expect(out).toMatch(/input answered +implement-collapse-whitespace-1: \{"approve":true\} by tour@docs/);
  expect(out).toMatch(/status +completed/);
  expect(out).toMatch(/tour\.tar\.gz: OK — ralph_loop\/tour: (\d+) of \1 files compared, all intact\n/);
  expect(out).toMatch(
    /ralph_loop\/tour: OK — \d+ of \d+ files compared, all intact\n {2}against Temporal history \(\d+ executions?\): 9 — executions\.jsonl, run\.json, 7 evidence records/,
  );
  expect(out).toContain('steps/plan/0001-producer-a1-l1/prompt.md was modified: sha256');
  // the last line stopped sop dev, and sop dev the dev server
  expect(result.exitCode).toBe(0);
  await expect(
    execa('node', ['bin/sop.js', 'temporal', 'status'], { cwd: root, env: server.env }),
  ).rejects.toThrow();
}, 300_000);
