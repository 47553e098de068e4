import { renderMarkdown } from '../../src/console/markdown';
import { runPageState } from '../../src/console/run-page';
import { timelineSection } from '../../src/console/run-sections';
import { RunsFilterSchema, runsQuery } from '../../src/console/runs-query';
import { answerFromForm, answerInputs } from '../../src/console/schema-form';
import { APPROVAL_ANSWER_SCHEMA } from '../../src/shapes/execution-plan';
import type { LiveAction, LiveExecution } from '../../src/shapes/live-activity';
import type { PendingInput } from '../../src/shapes/messages';

// The console's pure parts: the visibility query its filters make, the forms an answer schema makes and the
// answers they give back, markdown rendered without anything that could run in the page, and a run page's
// sections.

test('the runs filters become one visibility query on search attributes; children and test runs are hidden unless asked', () => {
  expect(runsQuery({}, [])).toBe(
    'SopName IS NOT NULL AND ExecutionStatus != "ContinuedAsNew" AND (ParentWorkflowId IS NULL OR SopParent IS NULL) AND SopKind IS NULL',
  );
  const q = runsQuery({ sop: 'fix', status: 'waiting_input', q: 'bug-7', trigger: 'webhook' }, ['gh']);
  expect(q).toContain('SopName = "fix"');
  expect(q).toContain('ExecutionStatus = "Running" AND SopStatus = "waiting_input"');
  expect(q).toContain('(SopTaskId STARTS_WITH "bug-7" OR WorkflowId STARTS_WITH "bug-7")');
  // a quote is refused before any query is made, naming the field
  const quoted = RunsFilterSchema.safeParse({ q: 'x" OR SopName IS NOT NULL OR "' });
  expect(quoted.success).toBe(false);
  expect(quoted.error?.issues[0]).toMatchObject({ path: ['q'], message: expect.stringContaining('quotes') });
  expect(q).toContain('(SopTaskId STARTS_WITH "gh-") AND ParentWorkflowId IS NULL AND SopParent IS NULL');
  expect(runsQuery({ trigger: 'manual' }, ['gh', 'ci'])).toContain(
    'TemporalScheduledById IS NULL AND ParentWorkflowId IS NULL AND SopParent IS NULL AND SopTaskId NOT STARTS_WITH "gh-" AND SopTaskId NOT STARTS_WITH "ci-"',
  );
  expect(runsQuery({ parent: 'a/b' }, [])).toContain('SopParent = "a/b"');
  expect(runsQuery({ parent: 'a/b' }, [])).not.toContain('ParentWorkflowId IS NULL OR');
  expect(runsQuery({ all: '1' }, [])).not.toContain('SopKind IS NULL');
});

const pending = (p: Partial<PendingInput>): PendingInput => ({
  requestId: 'r1',
  step: 's',
  question: 'Q?',
  schema: APPROVAL_ANSWER_SCHEMA,
  ...p,
});

test('an approval is Approve / Reject with a reason; the reason goes with a rejection only', () => {
  const approval = pending({ routes: ['approved', 'rejected'] });
  expect(answerInputs(approval).text).toContain('data-testid="reject"');
  expect(answerFromForm(approval, { decision: 'reject', reason: ' not yet ' })).toEqual({
    value: { approve: false, guidance: 'not yet' },
  });
  expect(answerFromForm(approval, { decision: 'approve', reason: 'ignored' })).toEqual({
    value: { approve: true },
  });
  expect(answerFromForm(approval, {})).toEqual({ problem: 'decision: choose Approve or Reject' });
});

test('a schema of plain fields is one input each; values come back typed; anything else is JSON', () => {
  const schema = {
    type: 'object',
    required: ['db'],
    properties: {
      db: { enum: ['pg', 'mysql'] },
      replicas: { type: 'integer' },
      note: { type: 'string' },
      ha: { type: 'boolean' },
    },
  };
  const fields = pending({ schema, routes: undefined });
  const form = answerInputs(fields).text;
  expect(form).toContain('name="f.db"');
  expect(form).toContain('<option value="&quot;pg&quot;">pg</option>');
  expect(
    answerFromForm(fields, { 'f.db': '"pg"', 'f.replicas': '3', 'f.note': 'hi', 'f.ha': 'true' }),
  ).toEqual({
    value: { db: 'pg', replicas: 3, note: 'hi', ha: true },
  });
  expect(answerFromForm(fields, { 'f.db': '"pg"', 'f.replicas': 'three' })).toEqual({
    problem: 'replicas: "three" is not a number',
  });
  const nested = pending({ schema: { type: 'object', properties: { items: { type: 'array' } } } });
  expect(answerInputs(nested).text).toContain('name="json"');
  expect(answerFromForm(nested, { json: '{"items":[1]}' })).toEqual({ value: { items: [1] } });
  expect(answerFromForm(nested, { json: '{' })).toMatchObject({
    problem: expect.stringMatching(/^answer: not valid JSON/),
  });
});

test('markdown artifacts render; raw HTML is shown as text and script links are dropped', () => {
  const out = renderMarkdown(
    '# Review\n\n**ok** <script>alert(1)</script> <img src=x onerror=alert(1)>\n\n[bad](javascript:alert(1)) [good](https://example.com/a)\n',
  );
  expect(out).toContain('<h1>Review</h1>');
  expect(out).toContain('<strong>ok</strong>');
  expect(out).not.toContain('<script');
  expect(out).not.toContain('<img');
  expect(out).toContain('&lt;script&gt;');
  expect(out).not.toContain('javascript:');
  expect(out).toContain('href="https://example.com/a"');
});

test('the run page says beside a running launch that it waits for quota, with its place in line', () => {
  const waiting = 'waiting for quota codex/gpt-5: 2 of 2 in use, 3rd in line';
  const page = timelineSection(
    [],
    [],
    [
      { step: 'review', role: 'agent', attempt: 1, provider: 'codex', waitingForQuota: waiting },
      { step: 'lint', role: 'agent', attempt: 1, provider: 'codex' },
    ],
  ).toString();
  expect(page).toContain(
    '<p class="now" data-testid="active">running now: review · agent · attempt 1 · codex — waiting for quota codex/gpt-5: 2 of 2 in use, 3rd in line; lint · agent · attempt 1 · codex</p>',
  );
  // once granted, the label alone
  const granted = timelineSection([], [], [{ step: 'review', role: 'agent', attempt: 1, provider: 'codex' }]);
  expect(granted.toString()).toContain('running now: review · agent · attempt 1 · codex</p>');
});

/** An agent execution that ended after `seq` actions, its result keeping the last `kept` (as history has it). */
function endedExecution(step: string, attempt: number, seq: number, kept: number): LiveExecution {
  const actions: LiveAction[] = [];
  for (let n = seq - kept + 1; n <= seq; n++)
    actions.push({
      seq: n,
      at: `2026-12-08T04:00:${String(n).padStart(2, '0')}.000Z`,
      kind: 'command',
      phase: 'started',
      command: `echo ${n}`,
    });
  return {
    workflowId: 'demo/t1',
    runId: 'r1',
    activityId: '1',
    activityAttempt: 1,
    activity: {
      live: 1,
      harness: 'codex',
      step,
      role: 'agent',
      attempt,
      seq,
      actions,
      counts: { commands: seq, files: 0, tools: 0, denials: 0, approvals: 0, messages: 0 },
      tokens: { input: 0, output: 0 },
      events: seq,
      updatedAt: '2026-12-08T04:01:00.000Z',
    },
  };
}

test('each ended agent execution in the timeline shows its actions from history, saying how many the ring dropped', () => {
  const line = { kind: 'agent' as const, path: 'steps/fix/1', step: 'fix', role: 'agent', accepted: true };
  const page = timelineSection(
    [
      { ...line, attempt: 1 },
      { kind: 'command', path: 'steps/lint.log', step: 'lint', exitCode: 0 },
      { ...line, attempt: 2 },
    ],
    [],
    [],
    [endedExecution('fix', 1, 3, 3), endedExecution('fix', 2, 25, 20), endedExecution('ship', 1, 1, 1)],
  ).toString();
  const rows = page.split('<tr').slice(2); // after the head
  // attempt 1: all three, collapsed under its line; the command step has none
  expect(rows[0]).toContain('attempt 1');
  expect(rows[1]).toContain(
    '<details class="actions" data-testid="ended-actions" data-key="line-0"><summary>3 action(s)</summary>',
  );
  expect(rows[1]).toContain('<time datetime="2026-12-08T04:00:03.000Z">04:00:03</time> $ echo 3</li>');
  expect(rows[2]).toContain('lint');
  expect(rows[3]).toContain('attempt 2');
  // attempt 2: the last 20 of 25, and where the 5 others are
  expect(rows[4]).toContain('<summary>last 20 of 25 actions</summary>');
  expect(rows[4]).toContain('… 5 more, see <code>sop logs --raw fix</code>');
  expect(rows[4]).toContain('<ol class="live-actions" start="6">');
  expect(rows[4]).toContain('$ echo 25</li>');
  expect(rows[4]).not.toContain('$ echo 5<');
  // no line in the run folder for it (another machine's): listed apart, from history alone
  expect(page).toContain('<h3>Ended agent executions (from history)</h3>');
  expect(page).toMatch(/<li>ship · agent · attempt 1 · codex <details[\s\S]*\$ echo 1<\/li>/);
  // history unreadable: said, the timeline still there
  const unread = timelineSection([{ ...line, attempt: 1 }], [], [], {
    problem: 'deadline exceeded',
  }).toString();
  expect(unread).toContain('the actions of ended executions cannot be read from history: deadline exceeded');
  expect(unread).not.toContain('ended-actions');
});

test('the run page reloads itself when an execution ends or starts, not only when the status changes', () => {
  const fix = { step: 'fix', role: 'agent', attempt: 1, provider: 'codex' };
  const ship = { step: 'ship', role: 'agent', attempt: 1, provider: 'claude' };
  const before = runPageState('running', [], [fix]);
  expect(runPageState('running', [], [fix])).toBe(before);
  expect(runPageState('running', [], [ship])).not.toBe(before);
  expect(runPageState('running', [], [])).not.toBe(before);
  // a request waiting is part of it, the same for the page and the endpoint it polls
  expect(runPageState('waiting_input', [{ requestId: 'r1' }], [])).toBe('waiting_input|r1|');
});
