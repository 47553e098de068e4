import type { SopClient } from '../../src/client';
import { defineSop, planFromBundle } from '../../src/index';

// The run input is typed from a defineSop definition: the type checker (npm run typecheck, in CI) rejects a
// missing or mistyped field before anything runs. Each @ts-expect-error below fails the build if the error
// it expects disappears.
const bundle = defineSop(
  {
    name: 'typed',
    input: {
      request: 'string',
      priority: { type: 'integer', default: 1 },
      mode: { type: 'string', enum: ['fast', 'careful'] },
      labels: { type: 'array', items: { type: 'string' }, required: false },
    },
    steps: { work: { prompt: 'prompts/work.md', routes: { done: { finish: true } } } },
  },
  { files: { 'prompts/work.md': 'Do {{ input.request }}' } },
);
const plan = planFromBundle(bundle);

function starts(client: SopClient) {
  void client.start(bundle, { repo: { path: '/w' }, input: { request: 'x', mode: 'fast' } });
  void client.start(bundle, {
    repo: { path: '/w' },
    input: { request: 'x', mode: 'careful', priority: 2, labels: ['a'] },
  });
  // @ts-expect-error request is required
  void client.start(bundle, { repo: { path: '/w' }, input: { mode: 'fast' } });
  void client.start(bundle, {
    repo: { path: '/w' },
    // @ts-expect-error priority is an integer
    input: { request: 'x', mode: 'fast', priority: 'high' },
  });
  // @ts-expect-error mode is one of its enum values
  void client.start(bundle, { repo: { path: '/w' }, input: { request: 'x', mode: 'sloppy' } });
  // @ts-expect-error labels are strings
  void client.start(bundle, { repo: { path: '/w' }, input: { request: 'x', mode: 'fast', labels: [1] } });
}

test('a typed bundle is still an ordinary compiled bundle, and its plan an ordinary plan, at runtime', () => {
  expect(typeof starts).toBe('function');
  expect(bundle.name).toBe('typed');
  expect(plan.sop).toBe('typed');
  expect(plan.inputSchema).toMatchObject({ required: expect.arrayContaining(['request', 'mode']) });
});
