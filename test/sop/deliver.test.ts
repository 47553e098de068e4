import { createPublicKey, verify } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { evidenceDigest, renderRecord } from '../../src/activities/delivery-record';
import { outcomeSchema } from '../../src/activities/prompt';
import { exportPack } from '../../src/evidence/pack';
import { generateKeyPair } from '../../src/evidence/signing';
import { deliveryKey, markersIn, withMarker } from '../../src/forge/forge';
import { forgeGitEnv, repoOfUrl, withoutForgeCredential } from '../../src/forge/worker-forge';
import { parseOutcome } from '../../src/harnesses/common';
import {
  checkAgentRequests,
  deliveriesAt,
  PULL_REQUEST_DELIVERY,
  runOfPullRequestKey,
} from '../../src/shapes/deliveries';
import { compileSopDir } from '../../src/sop/compile';
import { planFromBundle } from '../../src/sop/plan-from-bundle';

// The SOP's `deliver:` (docs/forge.md): compiled into the plan, its mistakes reported with code, file and line;
// what an agent may ask for checked against the allowance; the run record's evidence digest equal to the chain
// head an evidence pack of the same run folder has; the credential kept out of what an SOP runs.

function sopDir(yaml: string): string {
  const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'sop-deliver-')), 'fixit');
  fs.mkdirSync(path.join(dir, 'prompts'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'sop.yaml'), yaml);
  fs.writeFileSync(path.join(dir, 'prompts', 'fix.md'), 'Fix it.\n');
  return dir;
}

const sop = (deliver: string) => `name: fixit
input:
  issue: { type: integer }
steps:
  fix:
    prompt: prompts/fix.md
    routes:
      done: { finish: true }
      stuck: { fail: true }
deliver:
${deliver}`;

const errorsOf = (yaml: string) =>
  compileSopDir(sopDir(yaml), { relativeTo: os.tmpdir() })
    .diagnostics.filter((d) => d.severity === 'error')
    .map((d) => `${d.code} ${d.line}: ${d.message}`);

test('deliver: reaches the plan: the pull request first, each delivery at its points, the agent allowance', () => {
  const result = compileSopDir(
    sopDir(
      sop(`  comments:
    tell: { issue: "{{ input.issue }}", body: "Done: {{ pull_request.url }}", on: [end, fix.stuck] }
  statuses:
    ci: { context: sop/fixit }
  pull_request:
    title: "Fix #{{ input.issue }}"
    draft: true
  agent:
    labels: { issue: pull_request, allowed: [bug, docs] }
`),
    ),
  );
  expect(result.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  const deliver = planFromBundle(result.bundle!).deliver!;
  expect(deliver.deliveries.map((d) => `${d.name}:${d.action.kind}`)).toEqual([
    'pull-request:pull_request',
    'tell:comment',
    'ci:status',
  ]);
  expect(deliveriesAt(deliver, { kind: 'end' }).map((d) => d.name)).toEqual(['pull-request', 'tell', 'ci']);
  expect(deliveriesAt(deliver, { kind: 'failure' }).map((d) => d.name)).toEqual(['ci']);
  expect(deliveriesAt(deliver, { kind: 'route', step: 'fix', route: 'stuck' }).map((d) => d.name)).toEqual([
    'tell',
  ]);
  expect(deliver.agent).toEqual({ labels: { issue: 'pull_request', allowed: ['bug', 'docs'], max: 2 } });
});

test('deliver: a field the format lacks is an error at its line', () => {
  expect(errorsOf(sop(`  pull_request:\n    title: Fix\n    asignees: [me]\n`))).toEqual([
    'SOP101 13: unknown key "asignees" in deliver.pull_request',
  ]);
});

test('deliver: what the schema cannot say is an error with its code and line: a route that does not exist, a name used twice, contradicting labels, an unknown variable', () => {
  expect(
    errorsOf(
      sop(`  comments:
    tell: { issue: "{{ input.issue }}", body: "x", on: fix.finished }
  labels:
    tell: { issue: 1, add: [bug], remove: [bug] }
  statuses:
    ci: { context: sop/fixit, on: review.done }
  pull_request:
    title: "Fix {{ input.ticket }}"
`),
    ),
  ).toEqual([
    'SOP280 12: deliver: fix.finished: step fix has no route finished (its routes: done, stuck)',
    'SOP281 14: deliver: tell is declared twice (comments and labels)',
    'SOP282 14: deliver: tell adds and removes bug',
    'SOP280 16: deliver: review.done names no step review',
    'SOP401 18: {{ input.ticket }}: the SOP has no input "ticket"',
  ]);
});

test('an agent may ask only for what the SOP allows: up to max comments, labels from the list; the rest is refused with the reason', () => {
  const allowance = {
    comments: { issue: '1', max: 1 },
    labels: { issue: '1', allowed: ['bug', 'docs'], max: 1 },
  };
  const checked = checkAgentRequests(
    { comments: ['first', 'second', ''], labels: ['Bug', 'bug', 'docs', 'wontfix'], close: true },
    allowance,
    { step: 'fix' },
  );
  expect(checked.comments).toEqual(['first']);
  expect(checked.labels).toEqual(['Bug']);
  expect(checked.refused.map((r) => `${r.kind} ${r.value}: ${r.reason}`)).toEqual([
    'request close: the SOP allows agents no "close" deliveries',
    'comment second: more than the 1 comment(s) allowed per step (comment 2)',
    'comment : a comment must be non-empty text',
    'label docs: more than the 1 label(s) allowed per step',
    'label wontfix: not an allowed label (allowed: bug, docs)',
  ]);
  // an SOP that allows nothing refuses everything, naming the key to set
  expect(checkAgentRequests({ comments: ['hi'] }, undefined, { step: 'fix' }).refused[0].reason).toBe(
    'the SOP allows agents no comments (deliver.agent.comments)',
  );
});

test("an agent's outcome carries its requests: the outcome schema has `deliver` only where the SOP allows it, and the parsed outcome keeps it", () => {
  expect(outcomeSchema(['done']).required).toEqual(['route', 'summary', 'details']);
  const schema = outcomeSchema(['done'], [], { labels: { issue: '1', allowed: ['bug'], max: 1 } });
  expect(schema.required).toEqual(['route', 'summary', 'details', 'deliver']);
  const parsed = parseOutcome(
    JSON.stringify({ route: 'done', summary: 's', details: '', deliver: { comments: [], labels: ['bug'] } }),
    'the answer',
  );
  expect(parsed.outcome?.payload).toEqual({
    summary: 's',
    details: '',
    deliver: { comments: [], labels: ['bug'] },
  });
});

test("the record's evidence digest is the chain head an evidence pack of the same run folder has", async () => {
  const runFolder = fs.mkdtempSync(path.join(os.tmpdir(), 'sop-digest-'));
  for (const [n, body] of [
    ['0002-fix-agent', '{"b":2}'],
    ['0001-plan-agent', '{"a":1}'],
    ['0010-check-agent', '{"c":3}'],
  ]) {
    fs.mkdirSync(path.join(runFolder, 'steps', n), { recursive: true });
    fs.writeFileSync(path.join(runFolder, 'steps', n, 'evidence.json'), body);
  }
  const manifest = await exportPack({
    runFolder,
    sop: 'fixit',
    task: 't',
    run: {},
    output: path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'sop-pack-')), 'p.tar.gz'),
  });
  const digest = evidenceDigest(runFolder);
  expect(digest).toEqual({ records: 3, head: manifest.head });
  const record = renderRecord(
    {
      status: 'completed',
      routesTaken: [{ step: 'fix', route: 'done', target: 'finish' }],
      steps: [{ name: 'fix', kind: 'agent' }],
      answers: [],
      usage: { inputTokens: 1, outputTokens: 2, costUsd: 0.5, agentRuns: 1 },
      deniedCalls: 0,
      denials: [],
      refused: [],
    },
    { sop: 'fixit', taskId: 't', link: 'http://ui/x' },
    digest,
  );
  expect(record).toContain(`chain head \`${manifest.head}\` over 3 record(s)`);
  expect(record).toContain('[the run in the Web UI](http://ui/x)');
  expect(record).toContain('**Cost:** $0.5000');
});

test('the forge credential goes to git for a remote on that forge only, and never to what an SOP runs', async () => {
  const env = { SOP_GITHUB_API_URL: 'http://127.0.0.1:9', SOP_GITHUB_TOKEN: 'ghp_secret', PATH: '/bin' };
  const auth = await forgeGitEnv('http://127.0.0.1:9/acme/widgets.git', env);
  expect(auth.GIT_CONFIG_KEY_0).toBe('http.http://127.0.0.1:9/.extraHeader');
  expect(await forgeGitEnv('https://gitlab.example/acme/widgets.git', env)).toEqual({});
  expect(await forgeGitEnv('/srv/git/widgets.git', env)).toEqual({});
  expect(withoutForgeCredential(env)).toEqual({ SOP_GITHUB_API_URL: 'http://127.0.0.1:9', PATH: '/bin' });
  expect(repoOfUrl('https://github.com/acme/widgets.git')).toEqual({ owner: 'acme', repo: 'widgets' });
  expect(repoOfUrl('git@github.com:acme/widgets.git')).toEqual({ owner: 'acme', repo: 'widgets' });
});

test("a pull request's body names its run: the marker's key gives the workflow id (what a webhook looks up)", () => {
  const body = withMarker(
    'Closes #7.\n\n### Run record',
    deliveryKey('bugfix/issue-7', PULL_REQUEST_DELIVERY),
  );
  expect(markersIn(body)).toEqual(['bugfix/issue-7/pull-request']);
  expect(runOfPullRequestKey(markersIn(body)[0])).toBe('bugfix/issue-7');
  expect(runOfPullRequestKey('bugfix/issue-7/tell')).toBeUndefined();
  expect(markersIn('no marker here')).toEqual([]);
});

test('with a signing key on the worker, the record names the key `sop keys generate` printed and carries a signature that verifies', () => {
  const runFolder = fs.mkdtempSync(path.join(os.tmpdir(), 'sop-signed-'));
  fs.mkdirSync(path.join(runFolder, 'steps', '0001-fix-agent'), { recursive: true });
  fs.writeFileSync(path.join(runFolder, 'steps', '0001-fix-agent', 'evidence.json'), '{"a":1}');
  const keys = generateKeyPair(path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'sop-keys-')), 'signer'));
  const digest = evidenceDigest(runFolder, keys.privateFile, { sop: 'fixit', task: 't' });
  expect(digest.signature?.keySha256).toBe(keys.keySha256);
  const statement = JSON.stringify({
    statement: 'sop run record',
    sop: 'fixit',
    task: 't',
    head: digest.head,
  });
  const publicKey = createPublicKey(fs.readFileSync(keys.publicFile, 'utf8'));
  expect(
    verify(null, Buffer.from(statement), publicKey, Buffer.from(digest.signature!.value, 'base64')),
  ).toBe(true);
});
