import { deliveryId, deliveryTaskId } from '../../src/serve/delivery';
import { filterMiss } from '../../src/serve/filter';
import { signatureMatches, signBody } from '../../src/serve/signature';
import { emittedTaskId, parentFromMemo } from '../../src/shapes/lineage';
import { TASK_ID_PATTERN } from '../../src/shapes/names';

// The pure parts of the webhook ingress and of event lineage: signatures, filters, delivery ids → task ids.

const body = Buffer.from('{"action":"opened"}');

test('signatures: GitHub needs sha256=<hex> of the exact body under the secret; hmac-sha256 also takes bare hex', () => {
  const good = signBody('secret', body);
  expect(signatureMatches('github', 'secret', body, good)).toBe(true);
  expect(signatureMatches('github', 'other', body, good)).toBe(false);
  expect(signatureMatches('github', 'secret', Buffer.from('{"action":"closed"}'), good)).toBe(false);
  expect(signatureMatches('github', 'secret', body, good.slice('sha256='.length))).toBe(false);
  expect(signatureMatches('github', 'secret', body, undefined)).toBe(false);
  expect(signatureMatches('github', 'secret', body, 'sha256=zz')).toBe(false);
  expect(signatureMatches('hmac-sha256', 'secret', body, good.slice('sha256='.length))).toBe(true);
  expect(signatureMatches('hmac-sha256', 'secret', body, good)).toBe(true);
});

test('filters: event, action, branch and labels each reject with a reason; no filter accepts', () => {
  const filter = { event: ['push'], branch: ['main'] };
  expect(filterMiss(filter, 'push', { ref: 'refs/heads/main' })).toBeUndefined();
  expect(filterMiss(filter, 'push', { ref: 'refs/heads/dev' })).toBe('branch dev is not main');
  expect(filterMiss(filter, 'issues', { ref: 'refs/heads/main' })).toBe('event issues is not push');
  expect(filterMiss({ action: ['opened'] }, undefined, { action: 'closed' })).toBe(
    'action closed is not opened',
  );
  const labelled = { labels: ['bug'] };
  expect(
    filterMiss(labelled, 'pull_request', { pull_request: { labels: [{ name: 'bug' }] } }),
  ).toBeUndefined();
  expect(filterMiss(labelled, 'issues', { label: { name: 'bug' }, issue: { labels: [] } })).toBeUndefined();
  expect(filterMiss(labelled, 'issues', { issue: { labels: [{ name: 'docs' }] } })).toBe(
    'labels [docs] include none of bug',
  );
  expect(filterMiss({}, undefined, {})).toBeUndefined();
});

test('delivery ids: from a header or a payload field; an id unfit for a task id is hashed, stably and distinctly', () => {
  expect(
    deliveryId({ from: 'header', name: 'X-GitHub-Delivery' }, { 'x-github-delivery': 'abc' }, {}),
  ).toEqual({
    id: 'abc',
  });
  expect(deliveryId({ from: 'payload', name: 'event.id' }, {}, { event: { id: 42 } })).toEqual({ id: '42' });
  expect(deliveryId({ from: 'header', name: 'X-Request-Id' }, {}, {})).toEqual({
    problem: expect.stringContaining('header X-Request-Id is missing'),
  });
  expect(deliveryTaskId('hook', '72d3162e-cc78-11e3-81ab-4c9367dc0958')).toBe(
    'hook-72d3162e-cc78-11e3-81ab-4c9367dc0958',
  );
  const a = deliveryTaskId('hook', 'a/b');
  const b = deliveryTaskId('hook', 'a:b');
  expect(a).toMatch(TASK_ID_PATTERN);
  expect(a).not.toBe(b);
  expect(deliveryTaskId('hook', 'a/b')).toBe(a);
});

test("an emitted run's task id derives from the emitting run; a long one is shortened, still a valid task id", () => {
  const emitter = { sop: 'plan', task: 't1', firstRunId: '0123456789abcdef' };
  expect(emittedTaskId(emitter, 'planned', 1)).toBe('plan.t1.planned.01234567-1');
  const long = { ...emitter, task: 'x'.repeat(128) };
  const id = emittedTaskId(long, 'planned', 2);
  expect(id).toMatch(TASK_ID_PATTERN);
  expect(id).toBe(emittedTaskId(long, 'planned', 2));
  expect(id).not.toBe(emittedTaskId(long, 'planned', 3));
  expect(
    parentFromMemo({ parent: { workflowId: 'plan/t1', runId: 'r', event: 'planned', depth: 1 } }),
  ).toEqual({
    workflowId: 'plan/t1',
    runId: 'r',
    event: 'planned',
    depth: 1,
    chain: ['plan/t1'],
  });
  expect(parentFromMemo({ parent: 'plan/t1' })).toBeUndefined();
});
