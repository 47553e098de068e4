import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { startModelServer } from '../../src/scripted-model/model-server';
import { loadScenario } from '../../src/scripted-model/scenario';
import { signBody } from '../../src/serve/signature';
import { packageRoot } from '../../src/temporal/package-paths';
import { runSop } from '../support/run-sop';
import { connectForTest, type TemporalTestContext } from '../support/temporal';

// The shipped triggered example, offline, as docs/triggers.md runs it: a copy of examples/triage with
// `sop worker` (the real Codex on the scripted model server) and `sop serve`, fed the recorded GitHub
// `issues` payload signed like GitHub signs it.

const example = path.join(packageRoot, 'examples', 'triage');
const SECRET = `triage-${randomUUID()}`;
const taskQueue = `triage-${randomUUID().slice(0, 8)}`;
const children: ResultPromise[] = [];
let project: string;
let ctx: TemporalTestContext;
let model: Awaited<ReturnType<typeof startModelServer>>;

function sop(args: string[], env: Record<string, string>, ready: RegExp): Promise<RegExpExecArray> {
  const child = execa('node', [path.join(packageRoot, 'bin', 'sop.js'), ...args], {
    cwd: project,
    env: { SOP_TASK_QUEUE: taskQueue, ...env },
    stdin: 'ignore',
    reject: false,
  });
  children.push(child);
  let log = '';
  return new Promise((resolve, reject) => {
    child.stderr?.on('data', (chunk: Buffer) => {
      log += chunk.toString();
      const m = ready.exec(log);
      if (m) resolve(m);
    });
    void child.then(() => reject(new Error(`sop ${args[0]} exited: ${log}`)));
  });
}

beforeAll(async () => {
  project = fs.mkdtempSync(path.join(os.tmpdir(), 'sop-triage-'));
  fs.cpSync(example, project, { recursive: true });
  ctx = await connectForTest();
  model = await startModelServer(loadScenario(path.join(project, 'triage.scenario.yaml')));
  await sop(
    ['worker'],
    { SOP_CODEX_BASE_URL: `${model.url}/v1`, SOP_CLAUDE_BASE_URL: model.url },
    /worker polling/,
  );
}, 120_000);

afterAll(async () => {
  for (const child of children) child.kill('SIGTERM');
  await Promise.all(children);
  await model?.close();
  await ctx?.close();
});

test('the recorded issues payload, signed, starts one triage run that writes its assessment', async () => {
  const port = Number(
    (
      await sop(
        ['serve', '--port', '0'],
        { SOP_GITHUB_WEBHOOK_SECRET: SECRET },
        /listening on http:\/\/[^:]+:(\d+)/,
      )
    )[1],
  );
  const body = fs.readFileSync(path.join(project, 'issue-labeled-bug.json'));
  const delivery = randomUUID();
  const res = await fetch(`http://127.0.0.1:${port}/hooks/github-issues`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-github-event': 'issues',
      'x-github-delivery': delivery,
      'x-hub-signature-256': signBody(SECRET, body),
    },
    body,
  });
  expect(res.status).toBe(202);
  const { workflowId } = (await res.json()) as { workflowId: string };
  expect(workflowId).toBe(`triage/github-issues-${delivery}`);
  await ctx.client.workflow.getHandle(workflowId).result();
  const shown = await runSop(['runs', 'show', workflowId, '--json'], { cwd: project });
  expect(JSON.parse(String(shown.stdout))).toMatchObject({
    status: 'completed',
    routesTaken: [{ route: 'triaged' }],
  });
  const assessment = fs.readFileSync(
    path.join(project, '.sop', 'runs', 'triage', `github-issues-${delivery}`, 'triage.md'),
    'utf8',
  );
  expect(assessment).toContain('Severity: high');
}, 180_000);
