import { randomUUID } from 'node:crypto';
import { SopName, SopStatus, SopTaskId, searchAttributeKeys } from '../../src/temporal/search-attributes';
import { connectForTest, eventually, type TemporalTestContext, withWorker } from '../support/temporal';

let ctx: TemporalTestContext;
beforeAll(async () => {
  ctx = await connectForTest();
});
afterAll(async () => {
  await ctx?.close();
});

test('a workflow runs its activity on the worker, returns the result, and is found by a custom search attribute', async () => {
  const taskId = `found-${randomUUID()}`;
  const result = await withWorker(ctx, async (taskQueue) => {
    const handle = await ctx.client.workflow.start('smokeWorkflow', {
      workflowId: `smoke/${taskId}`,
      taskQueue,
      args: ['ping'],
      typedSearchAttributes: [
        { key: SopName, value: 'smoke' },
        { key: SopTaskId, value: taskId },
      ],
    });
    return handle.result();
  });
  expect(result).toEqual({ echoed: 'ping', workerPid: process.pid, workflowType: 'smokeWorkflow' });

  const found = await eventually(async () => {
    const rows = [];
    for await (const wf of ctx.client.workflow.list({
      query: `SopTaskId = "${taskId}" AND SopStatus = "completed"`,
    })) {
      rows.push(wf);
    }
    return rows.length ? rows : undefined;
  });
  expect(found.map((wf) => wf.workflowId)).toEqual([`smoke/${taskId}`]);
  expect(found[0].typedSearchAttributes.get(SopName)).toBe('smoke');
  expect(found[0].typedSearchAttributes.get(SopStatus)).toBe('completed');
});

test('the dev server has every search attribute the runtime writes', async () => {
  const { customAttributes } = await ctx.client.connection.operatorService.listSearchAttributes({
    namespace: ctx.target.namespace,
  });
  for (const key of searchAttributeKeys) expect(Object.keys(customAttributes ?? {})).toContain(key.name);
});

test('the Web UI answers on its port while the dev server runs', async () => {
  const response = await fetch(ctx.target.webUiUrl!);
  expect(response.status).toBe(200);
  expect(await response.text()).toMatch(/<html/i);
});
