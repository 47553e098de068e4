import * as path from 'node:path';
import { REVIEW_ANSWER_SCHEMA } from '../../src/shapes/execution-plan';
import { compileSopDir } from '../../src/sop/compile';
import { planFromBundle } from '../../src/sop/plan-from-bundle';
import { catalogProject } from '../support/sop-project';

// The review gate's syntax: an approval input step with `review:` (true, or the logins allowed to decide).

const compile = (gate: string) => {
  const root = catalogProject('sop-review-gate-', {
    gated: `name: gated
input:
  request: { type: string }
steps:
  fix:
    prompt: prompts/work.md
    routes:
      done: code_review
${gate}`,
  });
  return compileSopDir(path.join(root, 'sops', 'gated'), { relativeTo: root });
};
const errors = (result: ReturnType<typeof compile>) =>
  result.diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.code} ${d.message}`);

test('review: on an approval input step compiles to a gate answered by the review, with its allow list', () => {
  const result = compile(`  code_review:
    question: "Review the fix for {{ input.request }}"
    review: { allow: [alice, bob] }
    routes: { approved: finish, rejected: fix }
`);
  expect(errors(result)).toEqual([]);
  const gate = planFromBundle(result.bundle!).steps.find((s) => s.name === 'code_review')!;
  expect(gate.kind).toBe('input');
  expect(gate.input).toMatchObject({
    review: { allow: ['alice', 'bob'] },
    routeOn: { kind: 'approval' },
    schema: REVIEW_ANSWER_SCHEMA,
  });
  const open = compile(`  code_review:
    question: Review it
    review: true
    routes: { approved: finish, rejected: fix }
`);
  expect(planFromBundle(open.bundle!).steps[1].input?.review).toEqual({});
});

test('a review gate is refused with its own answer, without approved/rejected routes, or on another kind of step', () => {
  expect(
    errors(
      compile(`  code_review:
    question: Review it
    review: true
    answer: { verdict: { type: string, enum: [ok, bad] } }
    route_on: verdict
    routes: { ok: finish, bad: fix }
`),
    ),
  ).toEqual(
    expect.arrayContaining([
      "SOP218 a review gate's answer is the pull request's review (approve, guidance): remove answer:",
      "SOP218 a review gate's answer is the pull request's review (approve, guidance): remove route_on:",
    ]),
  );
  expect(
    errors(
      compile(`  code_review:
    question: Review it
    review: true
    routes: { answered: finish }
`),
    ),
  ).toContain(
    'SOP216 a review gate routes on approved (the review approved) and rejected (changes requested, or /sop rework)',
  );
  expect(
    errors(
      compile(`  code_review:
    prompt: prompts/work.md
    review: true
    routes: { done: finish }
`),
    ),
  ).toEqual(
    expect.arrayContaining([expect.stringMatching(/^SOP210 review does not belong to a agent step/)]),
  );
});
