import { ANSWER_SHAPE, AnswerInputSchema, parseMessageArg } from '../../src/shapes/message-args';
import { parseRunRequest, repoProblem, taskIdOf } from '../../src/shapes/run-request';

const ok = { sop: 'bugfix', repo: { path: '/abs/repo' }, input: { request: 'Fix it' } };
const problem = (value: unknown) => {
  const parsed = parseRunRequest(value);
  return 'problem' in parsed ? parsed.problem : undefined;
};

test('a run request may set its place in quota lines (priority 1 to 5)', () => {
  expect(parseRunRequest({ ...ok, priority: 1 })).toEqual({ request: { ...ok, priority: 1 } });
});

test('a complete run request parses', () => {
  expect(parseRunRequest({ ...ok, task: 't-1', params: { x: 1 }, sopVersion: '1', request: 'why' })).toEqual({
    request: { ...ok, task: 't-1', params: { x: 1 }, sopVersion: '1', request: 'why' },
  });
});

test.each([
  [{}, 'run request: sop is required (string)'],
  [{ ...ok, sop: 'Bug Fix' }, 'run request: sop: must start with a lowercase letter'],
  [{ ...ok, repo: undefined }, 'run request: repo is required (object)'],
  [{ ...ok, repo: {} }, 'run request: repo: needs exactly one of "url" (a git remote) or "path"'],
  [{ ...ok, repo: { path: '/a', url: 'git@x:y' } }, 'run request: repo: needs exactly one of'],
  [{ ...ok, repo: { path: 'rel/dir' } }, 'run request: repo.path: must be an absolute path'],
  [{ ...ok, input: 'Fix it' }, 'run request: input must be an object, not the string "Fix it"'],
  [{ ...ok, input: undefined }, 'run request: input is required (object)'],
  [{ ...ok, inputs: {} }, 'run request: the request has unknown field(s) "inputs"; the fields are sop, task'],
  [{ ...ok, task: '../etc' }, 'run request: task: must start with a letter or digit'],
  ['{"sop": "bugfix"}', 'run request: the request must be an object, not the string'],
  [{ ...ok, priority: 0 }, 'run request: priority: must be a whole number from 1 to 5'],
  [{ ...ok, priority: 2.5 }, 'run request: priority: must be a whole number from 1 to 5'],
])('%j is refused with one line naming the field', (value, expected) => {
  const line = problem(value);
  expect(line).toContain(expected);
  expect(line).not.toContain('\n');
});

test('the task comes from the workflow id <sop>/<task>; a mismatch says what to use', () => {
  const { request } = parseRunRequest(ok) as { request: typeof ok };
  expect(taskIdOf(request, { workflowType: 'bugfix', workflowId: 'bugfix/t1' })).toEqual({ taskId: 't1' });
  expect(taskIdOf(request, { workflowType: 'review', workflowId: 'bugfix/t1' })).toEqual({
    problem: expect.stringContaining('sop is "bugfix" but the workflow type is "review"'),
  });
  expect(taskIdOf(request, { workflowType: 'bugfix', workflowId: 'some-uuid' })).toEqual({
    problem: expect.stringContaining('the workflow id "some-uuid" is not "bugfix/<task>"'),
  });
  expect(
    taskIdOf({ ...request, task: 't2' } as never, { workflowType: 'bugfix', workflowId: 'bugfix/t1' }),
  ).toEqual({
    problem: expect.stringContaining('use the workflow id "bugfix/t2"'),
  });
});

test('a child run of a kind: sop step (id <parent-id>/<step>) takes the task its parent gave', () => {
  const { request } = parseRunRequest(ok) as { request: typeof ok };
  const child = { ...request, task: 'main.t1.call' } as never;
  const parent = { workflowId: 'main/t1' };
  expect(taskIdOf(child, { workflowType: 'bugfix', workflowId: 'main/t1/call', parent })).toEqual({
    taskId: 'main.t1.call',
  });
  // without a parent (or under another parent's id) the id must still be <sop>/<task>
  expect(taskIdOf(child, { workflowType: 'bugfix', workflowId: 'main/t1/call' })).toEqual({
    problem: expect.stringContaining('use the workflow id "bugfix/main.t1.call"'),
  });
  expect(taskIdOf(child, { workflowType: 'bugfix', workflowId: 'other/t9/call', parent })).toEqual({
    problem: expect.stringContaining('use the workflow id "bugfix/main.t1.call"'),
  });
});

test('repo.url (with a ref) is accepted; a ref goes with url only; runs from before the fleet patch refuse url', () => {
  expect(problem({ ...ok, repo: { url: 'https://example.invalid/r.git', ref: 'main' } })).toBeUndefined();
  expect(repoProblem({ url: 'https://example.invalid/r.git', ref: 'main' })).toBeUndefined();
  expect(repoProblem({ url: 'https://example.invalid/r.git' }, false)).toBe(
    'repo.url needs fleet provisioning, not available yet; use repo.path',
  );
  expect(repoProblem({ path: '/abs', ref: 'main' })).toBe(
    'repo.ref goes with repo.url (a repo.path run works on the checked-out tree); drop ref or give url',
  );
  expect(repoProblem({ path: '/abs' })).toBeUndefined();
});

test('worker (internal: a kind: sop child in a repo.url run) is validated and goes with repo.path only', () => {
  const worker = { queue: 'q@host-1', host: 'host', lostAfterMs: 10_000 };
  expect(parseRunRequest({ ...ok, worker })).toEqual({ request: { ...ok, worker } });
  expect(problem({ ...ok, worker: { ...worker, lostAfterMs: -1 } })).toContain('worker.lostAfterMs');
  expect(problem({ ...ok, worker: { host: 'host', lostAfterMs: 1 } })).toContain('worker.queue is required');
  expect(repoProblem({ url: 'https://example.invalid/r.git' }, true, worker)).toBe(
    'worker (internal) goes with repo.path: it names the worker that owns that workspace',
  );
  expect(repoProblem({ path: '/abs' }, true, worker)).toBeUndefined();
});

test.each([
  ['yes', 'answer must be an object, not the string "yes"'],
  [undefined, 'answer is required (object)'],
  [
    { valu: 1 },
    'answer has unknown field(s) "valu"; the fields are requestId, value (and 1 more problem(s))',
  ],
  [{ value: 1, requestId: 3 }, 'answer.requestId must be a string, not a number'],
])('a malformed answer %j is refused naming the field and the expected shape', (arg, expected) => {
  const parsed = parseMessageArg(AnswerInputSchema, arg, 'answer', ANSWER_SHAPE);
  expect(parsed).toEqual({ ok: false, problem: `${expected}; expected ${ANSWER_SHAPE}` });
});
