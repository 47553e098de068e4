import * as path from 'node:path';
import { Catalog } from '../../src/sop/catalog';
import { planFromBundle } from '../../src/sop/plan-from-bundle';
import { downstreamOf } from '../../src/workflows/restart';

const root = path.join(__dirname, '..', '..');
const planOf = (name: string) => {
  const catalog = new Catalog({ projectDir: root, workspace: root });
  return planFromBundle(catalog.compile(catalog.find(name)!).bundle!, { params: {} });
};

test('a rerun covers the step and everything routes or after: reach from it, nothing upstream', () => {
  const pipeline = planOf('pipeline');
  expect(downstreamOf(pipeline, 'messaging')).toEqual(['messaging', 'tactics']);
  expect(downstreamOf(pipeline, 'segments')).toEqual(['segments', 'messaging', 'tactics']);
  expect(downstreamOf(pipeline, 'intake')).toEqual(pipeline.steps.map((s) => s.name));
  const ralph = planOf('ralph_loop');
  expect(downstreamOf(ralph, 'implement')).toEqual(['implement']);
  expect(downstreamOf(ralph, 'plan')).toEqual(['plan', 'implement']);
});
