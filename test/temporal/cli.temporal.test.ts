import { runSop } from '../support/run-sop';

test('`sop smoke` runs a workflow end to end on the dev server and prints its Web UI link', async () => {
  const result = await runSop(['smoke', '--json']);
  expect(result.exitCode).toBe(0);
  const out = JSON.parse(String(result.stdout));
  expect(out.echoed).toMatch(/^hello from smoke-/);
  expect(out.webUi).toMatch(
    new RegExp(
      `^http://127\\.0\\.0\\.1:${process.env.SOP_TEMPORAL_UI_PORT}/namespaces/default/workflows/smoke%2F`,
    ),
  );
});

test('`sop temporal status` names the server version and the Web UI', async () => {
  const result = await runSop(['temporal', 'status']);
  expect(result.exitCode).toBe(0);
  expect(result.stdout).toContain(`at 127.0.0.1:${process.env.SOP_TEMPORAL_PORT} (embedded)`);
  expect(result.stdout).toMatch(/Temporal 1\.\d+\.\d+/);
  expect(result.stdout).toContain(`Web UI: http://127.0.0.1:${process.env.SOP_TEMPORAL_UI_PORT}`);
});
