import * as fs from 'node:fs';
import * as path from 'node:path';
import { type ModelServer, startModelServer } from '../../src/scripted-model/model-server';
import type { Reply } from '../../src/scripted-model/scenario';
import { routeNames, smallRepo } from '../support/ralph-scenarios';
import { runProjectSop, sopProject } from '../support/sop-project';

// Sessions (issue 16, part 2): a producer with `session: step` reworked twice continues its first harness
// session, with the verifier's findings as the new message. `sop run` as a user runs it, with the real
// Codex and Claude Code binaries on the scripted model server: what the model server received shows the
// earlier conversation in the resumed requests; executions.jsonl, evidence and transcripts name the session;
// usage is per execution although both harnesses report running totals on resume.

let model: ModelServer | undefined;
afterEach(async () => {
  await model?.close();
  model = undefined;
});

const project = () =>
  sopProject(
    'keep',
    [
      'defaults: { policy: edit }',
      'policies:',
      '  edit: { sandbox: workspace-write }',
      '  review: { sandbox: workspace-write, allow_write: [.sop/] }',
      'artifacts:',
      '  report: { kind: md, path: "{{ run.folder }}/report.md" }',
      'steps:',
      '  build:',
      '    kind: produce_verify',
      '    producer: { prompt: prompts/produce.md, writes: [report], session: step }',
      '    verifier: { prompt: prompts/verify.md, policy: review }',
      '    routes:',
      '      accepted: { finish: true, requires: [report] }',
      '      needs_rework: { to: build }',
      '    max_rework: 3',
    ],
    {
      'produce.md': 'Write the report into {{ run.folder }}/report.md.',
      'verify.md': 'Review the report in {{ run.folder }}/report.md.',
    },
  );

const report = '{{ run_folder }}/report.md';
const done = (n: number): Reply => ({ final: { route: 'done', summary: `version ${n}`, details: '' } });
const verdict = (route: string, details: string): Reply[] => [{ final: { route, summary: route, details } }];

interface Line {
  kind: string;
  role?: string;
  path: string;
  accepted: boolean;
  usage: { inputTokens: number; outputTokens: number; costUsd: number };
  session?: { slot: string; id: string | null; resumed: boolean; freshReason?: string };
}

describe.each(['codex', 'claude'] as const)(
  '%s: a producer with session: step reworked twice',
  (provider) => {
    test('the second and third executions resume the first session, with usage per execution', async () => {
      model = await startModelServer({
        usage: { input: 100, output: 10 },
        rules: [
          {
            match: 'Write the report',
            // one conversation across the three executions: the positions go on where the last one ended
            runs: [
              [
                { write: { path: report, content: '# Report\nversion 1\n' } },
                done(1),
                { read: report },
                { write: { path: report, content: '# Report\nversion 2, longer\n' } },
                done(2),
                { read: report },
                { write: { path: report, content: '# Report\nversion 3, with a title\n' } },
                done(3),
              ],
              // a fresh conversation where a resumed one was expected: fails the run (no route)
              [{ final: { route: 'nowhere', summary: 'started over', details: '' } }],
            ],
          },
          {
            match: 'Review the report',
            runs: [
              verdict('needs_rework', 'FINDING-ONE: the report is too short'),
              verdict('needs_rework', 'FINDING-TWO: the report has no title'),
              verdict('accepted', ''),
            ],
          },
        ],
      });
      const workspace = await smallRepo('sop-sessions-');
      const task = `resume-${provider}`;
      const result = await runProjectSop('keep', project(), workspace, {
        modelUrl: model.url,
        task,
        provider,
      });
      expect({ exitCode: result.exitCode, output: result.output }).toMatchObject({ exitCode: 0 });
      const out = JSON.parse(String(result.stdout));
      expect(routeNames(out.result.routesTaken)).toEqual([
        'build:needs_rework',
        'build:needs_rework',
        'build:accepted',
      ]);

      // what the model server received: the resumed requests carry the earlier conversation
      const producer = model.requests.filter((r) => r.rule === 0);
      expect(producer.every((r) => r.run === 0)).toBe(true);
      const firstWith = (text: string) => producer.find((r) => r.userTexts?.some((t) => t.includes(text)));
      const second = firstWith('FINDING-ONE');
      const third = firstWith('FINDING-TWO');
      expect(second?.position).toBe(2);
      expect(third?.position).toBe(5);
      for (const resumed of [second, third]) {
        expect(resumed?.userTexts?.some((t) => t.includes('Write the report into'))).toBe(true);
      }
      expect(third?.userTexts?.some((t) => t.includes('FINDING-ONE'))).toBe(true);
      // the new message is the findings, not the task again
      expect(third?.userTexts?.filter((t) => t.includes('Write the report into'))).toHaveLength(1);

      // executions.jsonl and the evidence: the slot, the session, resumed or fresh
      const lines = fs
        .readFileSync(path.join(out.runFolder, 'executions.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Line)
        .filter((l) => l.kind === 'agent');
      const produced = lines.filter((l) => l.role === 'producer');
      expect(produced).toHaveLength(3);
      const id = produced[0].session?.id;
      expect(id).toBeTruthy();
      expect(produced.map((l) => l.session)).toEqual([
        { slot: 'step:build', id, resumed: false },
        { slot: 'step:build', id, resumed: true },
        { slot: 'step:build', id, resumed: true },
      ]);
      // the verifier keeps no session
      for (const l of lines.filter((l) => l.role === 'verifier')) expect(l.session).toBeUndefined();
      for (const l of produced) {
        const folder = path.join(out.runFolder, l.path);
        const evidence = JSON.parse(fs.readFileSync(path.join(folder, 'evidence.json'), 'utf8'));
        expect(evidence.session).toEqual(l.session);
        expect(evidence.usage).toEqual(l.usage);
        // the harness's own transcript names the same session
        expect(fs.readFileSync(path.join(folder, 'transcript.jsonl'), 'utf8')).toContain(id);
      }
      const prompts = produced.map((l) =>
        fs.readFileSync(path.join(out.runFolder, l.path, 'prompt.md'), 'utf8'),
      );
      expect(prompts[1]).toContain('You are continuing your earlier work on step build');
      expect(prompts[1]).toContain('FINDING-ONE');
      expect(prompts[1]).not.toContain('Write the report into');

      // usage per execution: what each one's own model calls used, not the session's running total
      const answered = (from: number, to: number) =>
        producer.filter((r) => r.status === 200 && r.position! >= from && r.position! < to).length;
      const calls = [answered(0, 2), answered(2, 5), answered(5, 8)];
      expect(calls).toEqual([2, 3, 3]);
      // the model server reports 100 input and 10 output tokens per call
      expect(produced.map((l) => [l.usage.inputTokens, l.usage.outputTokens])).toEqual(
        calls.map((n) => [n * 100, n * 10]),
      );
      for (const l of produced) expect(l.usage.costUsd).toBeGreaterThan(0);
      const total = lines.reduce((sum, l) => sum + l.usage.inputTokens, 0);
      expect(out.result.usage.inputTokens).toBe(total);
    }, 300_000);
  },
);
