import type { SopCompileError } from '../../src/shapes/diagnostics';
import { defineSop } from '../../src/sop/compile';
import { planFromBundle } from '../../src/sop/plan-from-bundle';

// `agent_asks:` in sop.yaml: where it may stand and what the plan holds.

const files = { 'p.md': 'Work.' };
const asking = (agentAsks: unknown) => ({
  question: 'A person is needed.',
  answer: { details: 'string' },
  agent_asks: agentAsks,
});

test('agent_asks on a route of an agent step reaches the plan with its limits (defaults: 1000 characters, the agent may narrow the answer)', () => {
  const plan = planFromBundle(
    defineSop(
      {
        name: 'a',
        steps: {
          s: {
            prompt: 'p.md',
            routes: {
              done: 'finish',
              ask: { request_input: asking(true) },
              ask_short: { request_input: asking({ max_length: 50, answer_schema: false }) },
            },
          },
        },
      },
      { files },
    ),
  );
  const requests = plan.steps[0].routes.map((r) =>
    r.target.kind === 'request_input' ? r.target.request : undefined,
  );
  expect(requests[1]?.agentAsks).toEqual({ maxLength: 1000, answerSchema: true });
  expect(requests[2]?.agentAsks).toEqual({ maxLength: 50, answerSchema: false });
});

test("agent_asks where no agent chooses to ask (a produce_verify step's on_rework_exhausted, a command step's route) is SOP210", () => {
  const compile = (steps: Record<string, unknown>) => {
    try {
      defineSop({ name: 'a', steps }, { files });
      return [];
    } catch (err) {
      return (err as SopCompileError).diagnostics.map((d) => [d.code, d.at]);
    }
  };
  expect(
    compile({
      s: {
        kind: 'produce_verify',
        producer: { prompt: 'p.md' },
        verifier: { prompt: 'p.md' },
        routes: { accepted: 'finish', needs_rework: 's' },
        on_rework_exhausted: { request_input: asking(true) },
      },
    }),
  ).toEqual([['SOP210', 'steps.s.on_rework_exhausted.request_input.agent_asks']]);
  expect(
    compile({
      s: { run: 'true', routes: { passed: 'finish', failed: { request_input: asking(true) } } },
    }),
  ).toEqual([['SOP210', 'steps.s.routes.failed.request_input.agent_asks']]);
});
