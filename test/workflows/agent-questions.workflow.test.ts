import * as fs from 'node:fs';
import * as path from 'node:path';
import { execa } from 'execa';
import { type RunStatusView, statusQuery } from '../../src/shapes/messages';
import type { RunResult } from '../../src/shapes/run';
import { defineSop } from '../../src/sop/compile';
import { planFromBundle } from '../../src/sop/plan-from-bundle';
import { packageRoot } from '../../src/temporal/package-paths';
import { ScriptedRunner } from '../support/scripted-runner';
import { connectForTest, eventually, type TemporalTestContext, testTarget } from '../support/temporal';
import { endOf, withScriptedRun } from '../support/workflow-tier';

// Questions the agent writes (agent_asks on a request_input its route goes to): the pending request shows
// the agent's question and reason next to the SOP's (status query, Web UI current details), the agent may
// narrow the answer's fields (an answer must fit the step's and the agent's), the raw temporal CLI answers
// it, the answer goes into the agent's next prompt with its question, and both are in the record. A question
// that is too long, or a schema outside what the step allows, refuses the attempt with the reason recorded.

let ctx: TemporalTestContext;
beforeAll(async () => {
  ctx = await connectForTest();
});
afterAll(async () => {
  await ctx?.close();
});

const temporal = (args: string[]) =>
  execa(path.join(packageRoot, 'temporal', 'bin', 'temporal'), [...args, '--address', testTarget().address], {
    reject: false,
    stdin: 'ignore',
    timeout: 60_000,
  });
const said = (r: { stdout: unknown; stderr: unknown }) => `${r.stdout}${r.stderr}`.replaceAll('\\"', '"');

const triage = (name: string, maxLength = 200) =>
  planFromBundle(
    defineSop(
      {
        name,
        input: { request: 'string' },
        steps: {
          triage: {
            prompt: 'p.md',
            routes: {
              done: 'finish',
              needs_info: {
                request_input: {
                  question: 'Triage needs a person.',
                  answer: {
                    details: 'string',
                    severity: { type: 'string', enum: ['low', 'high'], required: false },
                  },
                  agent_asks: { max_length: maxLength },
                },
              },
            },
          },
        },
      },
      { files: { 'p.md': 'Triage the report.' } },
    ),
  );

const lines = (file: string) =>
  fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));

test("the agent's question is shown and answered with the temporal CLI; the answer reaches its next prompt, and both are recorded", async () => {
  const ask = {
    question: 'Which release shows the crash: 2.3 or 2.4?',
    reason: 'The stack trace matches code that changed between them.',
    answer_schema: JSON.stringify({
      properties: { severity: { enum: ['high'] } },
      required: ['details', 'severity'],
    }),
  };
  const runner = new ScriptedRunner({
    'triage/agent': [{ route: 'needs_info', ask }, { route: 'done' }],
  });
  await withScriptedRun(ctx, triage('agent-asks'), runner, async (started) => {
    const { handle, run } = started;
    const pending = await eventually(async () => {
      const status = await handle.query<RunStatusView>(statusQuery);
      return status.pendingInput;
    });
    expect(pending).toMatchObject({
      question: 'Triage needs a person.',
      agentQuestion: { question: ask.question, reason: ask.reason },
    });
    const { currentDetails } = await handle.query<{ currentDetails: string }>('__temporal_workflow_metadata');
    expect(currentDetails).toContain('Waiting for input `triage-1`: Triage needs a person.');
    expect(currentDetails).toContain(`The agent asks: ${ask.question}`);
    expect(currentDetails).toContain(`Why: ${ask.reason}`);

    const update = (value: unknown) =>
      temporal([
        'workflow',
        'update',
        'execute',
        '--workflow-id',
        handle.workflowId,
        '--name',
        'answer',
        '--input',
        JSON.stringify({ requestId: pending!.requestId, value }),
      ]);
    // the step allows low, the agent asked for high only: low is refused, and so is a missing severity
    const low = await update({ details: 'release 2.4', severity: 'low' });
    expect(low.exitCode).not.toBe(0);
    expect(said(low)).toContain('does not fit the requested schema');
    expect((await update({ details: 'release 2.4' })).exitCode).not.toBe(0);
    const ok = await update({ details: 'release 2.4', severity: 'high' });
    expect(said(ok)).toContain('accepted');
    expect(ok.exitCode).toBe(0);

    const end = await endOf(started);
    expect(end.result?.status).toBe('completed');
    const next = runner.prompts('triage/agent')[1];
    expect(next).toContain(`You asked a person: "${ask.question}"`);
    expect(next).toContain('"severity": "high"');
    // the record: the agent's question, reason and fields with the answer, in the evidence and the result
    const answerLine = lines(path.join(run.runFolder, 'executions.jsonl')).find((l) => l.kind === 'answer');
    const evidence = JSON.parse(
      fs.readFileSync(path.join(run.runFolder, answerLine.path, 'evidence.json'), 'utf8'),
    );
    expect(evidence).toMatchObject({
      question: 'Triage needs a person.',
      agentQuestion: {
        question: ask.question,
        reason: ask.reason,
        answerSchema: { properties: { severity: { enum: ['high'] } } },
      },
      answer: { details: 'release 2.4', severity: 'high' },
    });
    expect((end.result as RunResult).answers?.[0]).toMatchObject({
      agentQuestion: { question: ask.question },
      value: { details: 'release 2.4', severity: 'high' },
    });
    // the agent was told how to ask, and its outcome schema has the ask
    expect(runner.calls[0].prompt).toContain('`needs_info`: the SOP asks "Triage needs a person."');
  });
});

test('a question too long or an answer schema outside what the step allows is refused: the attempt is not accepted, the reason is recorded and goes into the next prompt', async () => {
  const tooLong = { question: 'x'.repeat(81), reason: 'r', answer_schema: null };
  const widened = {
    question: 'What is the customer id?',
    reason: 'It is not in the report.',
    answer_schema: JSON.stringify({ properties: { customer: { type: 'string' } } }),
  };
  const runner = new ScriptedRunner({
    'triage/agent': [
      { route: 'needs_info', ask: tooLong },
      { route: 'needs_info', ask: widened },
      { route: 'done' },
    ],
  });
  await withScriptedRun(ctx, triage('agent-asks-refused', 80), runner, async (started) => {
    const end = await endOf(started);
    expect(end.error?.cause?.message).toBeUndefined();
    expect(end.result?.status).toBe('completed');
    const [first, second, third] = lines(path.join(started.run.runFolder, 'executions.jsonl'));
    expect(first).toMatchObject({
      accepted: false,
      outcomeError:
        'your question for a person was refused: ask.question is 81 characters; this request accepts at most 80: ask shorter',
    });
    expect(second).toMatchObject({
      accepted: false,
      outcomeError:
        'your question for a person was refused: ask.answer_schema names field "customer", which the step\'s answer does not have (its fields: details, severity)',
    });
    expect(third.accepted).toBe(true);
    expect(runner.prompts('triage/agent')[1]).toContain('ask.question is 81 characters');
    // nobody was asked
    expect(end.result?.answers ?? []).toEqual([]);
  });
});
