import { outcomeSchema } from '../../src/activities/prompt';
import { OUTCOME_LIMITS, outcomeSchemaErrors, parseOutcome } from '../../src/harnesses/common';

// Malformed agent answers: each becomes an outcome error the interpreter feeds back to the agent (and,
// past max_attempts, routes to the step's failure path); none is accepted.
const schema = outcomeSchema(['accepted', 'needs_rework']);

test.each([
  ['empty', '', /was empty/],
  ['not JSON', 'All done!', /is not JSON/],
  ['truncated JSON', '{"route": "accepted", "summ', /is not JSON/],
  ['no route', '{"summary": "x"}', /has no "route" string/],
  ['route of the wrong type', '{"route": 3}', /has no "route" string/],
  ['an array', '[1,2]', /has no "route" string/],
  [
    'a huge summary',
    JSON.stringify({ route: 'accepted', summary: 'x'.repeat(OUTCOME_LIMITS.summary + 1), details: '' }),
    /"summary" is 2001 characters; the limit is 2000/,
  ],
  [
    'huge details',
    JSON.stringify({ route: 'accepted', summary: 's', details: 'y'.repeat(1_000_000) }),
    /"details" is 1000000 characters/,
  ],
])('%s is an outcome error', (_name, answer, message) => {
  const result = parseOutcome(answer, 'the answer');
  expect(result.outcome).toBeUndefined();
  expect(result.outcomeError).toMatch(message);
});

test('an illegal route and wrong field types are schema errors naming the field', () => {
  expect(outcomeSchemaErrors({ route: 'ship_it', summary: 's', details: '' }, schema)).toMatch(/\/route/);
  expect(outcomeSchemaErrors({ route: 'accepted', summary: 5, details: '' }, schema)).toMatch(/\/summary/);
  expect(outcomeSchemaErrors({ route: 'accepted', summary: 's', details: '', extra: 1 }, schema)).toMatch(
    /extra/,
  );
  expect(outcomeSchemaErrors({ route: 'accepted', summary: 's', details: '' }, schema)).toBeUndefined();
});
