// Starts an SOP run by name with plain @temporalio/client (no sop-runtime import) and waits for its end:
// the run request is the whole contract. A worker resolves the SOP from its catalog and checks the input.
//   node start-run.mjs SOP TASK REPO_PATH 'REQUEST'
import { Client, Connection } from '@temporalio/client';

const [sop, task, repoPath, request] = process.argv.slice(2);
const connection = await Connection.connect({ address: process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233' });
const client = new Client({ connection, namespace: process.env.TEMPORAL_NAMESPACE ?? 'default' });
try {
  const handle = await client.workflow.start(sop, {
    workflowId: `${sop}/${task}`, // the convention: <sop>/<task>
    taskQueue: process.env.SOP_TASK_QUEUE ?? 'sop-runtime',
    args: [{ sop, task, repo: { path: repoPath }, input: { request } }],
  });
  console.error(`started ${handle.workflowId}`);
  console.log(JSON.stringify(await handle.result()));
} catch (err) {
  console.error(`run failed: ${err.cause?.message ?? err.message}`);
  process.exitCode = 1;
} finally {
  await connection.close();
}
