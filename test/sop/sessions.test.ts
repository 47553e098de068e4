import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openSession } from '../../src/activities/agent-session';
import { ClaudeRunner, CodexRunner } from '../../src/harnesses';
import type { AgentStepRequest } from '../../src/shapes/contract';
import { sessionSlot } from '../../src/shapes/execution-plan';
import { compileSopDir } from '../../src/sop/compile';
import { planFromBundle } from '../../src/sop/plan-from-bundle';

// `session:` on an agent step or role (issue 16, part 2): compiled into the plan, slots by step / item /
// run / name, and the compile errors for a verifier that would continue its producer's session and for
// `session: item` outside a worklist step.

function sopDir(yaml: string): string {
  const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'sop-sessions-')), 'keep');
  fs.mkdirSync(path.join(dir, 'prompts'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'sop.yaml'), yaml);
  for (const p of ['do.md', 'check.md']) fs.writeFileSync(path.join(dir, 'prompts', p), 'Work.\n');
  return dir;
}

const pv = (producer: string, verifier: string) => `name: keep
artifacts:
  out: { kind: md, path: "{{ run.folder }}/out.md" }
steps:
  build:
    kind: produce_verify
    producer: { prompt: prompts/do.md, writes: [out]${producer} }
    verifier: { prompt: prompts/check.md${verifier} }
    routes:
      accepted: { finish: true, requires: [out] }
      needs_rework: { to: build }
`;

const errorsOf = (yaml: string) =>
  compileSopDir(sopDir(yaml), { relativeTo: os.tmpdir() })
    .diagnostics.filter((d) => d.severity === 'error')
    .map((d) => ({ code: d.code, line: d.line, at: d.at, message: d.message }));

test('session: on a role and on an agent step reaches the plan; fresh (the default) keeps none', () => {
  const result = compileSopDir(
    sopDir(`name: keep
steps:
  one:
    prompt: prompts/do.md
    session: run
    routes: { done: two }
  two:
    prompt: prompts/check.md
    session: fresh
    routes: { done: three }
  three:
    prompt: prompts/check.md
    session: planner
    routes: { done: finish }
`),
  );
  expect(result.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  const steps = planFromBundle(result.bundle!).steps;
  expect(steps.map((s) => s.agent?.session)).toEqual(['run', undefined, 'planner']);
  const built = compileSopDir(sopDir(pv(', session: step', '')));
  const build = planFromBundle(built.bundle!).steps[0];
  expect([build.producer?.session, build.verifier?.session]).toEqual(['step', undefined]);
});

test('slots: one per step, per item, per run, per name', () => {
  expect(sessionSlot(undefined, 'build')).toBeUndefined();
  expect(sessionSlot('fresh', 'build')).toBeUndefined();
  expect(sessionSlot('step', 'build', '7')).toBe('step:build');
  expect(sessionSlot('item', 'build', '7')).toBe('item:build:7');
  expect(sessionSlot('run', 'build', '7')).toBe('run');
  expect(sessionSlot('planner', 'build')).toBe('name:planner');
});

test.each([
  ['step', 'step'],
  ['run', 'run'],
  ['writer', 'writer'],
])('a verifier with session: %s next to a producer with session: %s is SOP250, located', (p, v) => {
  expect(errorsOf(pv(`, session: ${p}`, `, session: ${v}`))).toEqual([
    expect.objectContaining({
      code: 'SOP250',
      line: 8,
      at: 'steps.build.verifier.session',
      message: expect.stringContaining("would continue its producer's session"),
    }),
  ]);
});

test('a verifier with a slot of its own is fine', () => {
  expect(errorsOf(pv(', session: step', ', session: judge'))).toEqual([]);
  expect(errorsOf(pv(', session: fresh', ', session: fresh'))).toEqual([]);
});

test('session: item without for_each is SOP251; session: on a produce_verify step itself is SOP210', () => {
  expect(errorsOf(pv(', session: item', ''))).toEqual([
    expect.objectContaining({ code: 'SOP251', at: 'steps.build.producer.session' }),
  ]);
  const onStep = pv('', '').replace('    routes:', '    session: step\n    routes:');
  expect(errorsOf(onStep)).toEqual([
    expect.objectContaining({ code: 'SOP210', at: 'steps.build.session', line: 9 }),
  ]);
});

test('a slot whose session files are not on this worker starts fresh and says why', () => {
  const request = {
    session: {
      slot: 'step:build',
      resume: {
        provider: 'codex',
        sessionId: '019a0000-0000-7000-8000-000000000000',
        totals: { inputTokens: 1, cachedInputTokens: 0, outputTokens: 1, costUsd: 0 },
      },
    },
  } as AgentStepRequest;
  const stateDir = fs.mkdtempSync(path.join(os.homedir(), '.sop-sessions-test-'));
  const saved = process.env.SOP_STATE_DIR;
  process.env.SOP_STATE_DIR = stateDir;
  try {
    for (const runner of [new CodexRunner(), new ClaudeRunner()]) {
      const opened = openSession(request, runner, `keep/moved-${runner.constructor.name}`);
      expect(opened).toMatchObject({ resumed: false, execution: { slot: 'step:build' } });
      expect(opened?.execution?.resumeId).toBeUndefined();
      expect(opened?.freshReason).toMatch(
        /the files of session 019a0000-\S+ are not on this worker \(.+\): the run moved to another worker or they were removed/,
      );
      expect(opened?.execution?.home.startsWith(stateDir)).toBe(true);
    }
  } finally {
    if (saved === undefined) delete process.env.SOP_STATE_DIR;
    else process.env.SOP_STATE_DIR = saved;
    fs.rmSync(stateDir, { recursive: true, force: true });
  }
});
