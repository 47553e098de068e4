// Writes one folder per malformed SOP under this directory, each derived from base.yaml by a small edit,
// with expect.json holding the code and the position the compiler must report. Positions are computed
// here from a marker in the edited text, independently of the compiler.
//   node test/sop/malformed/generate.js
const fs = require('node:fs');
const path = require('node:path');

const here = __dirname;
const base = fs.readFileSync(path.join(here, 'base.yaml'), 'utf8');
const baseFiles = {
  'prompts/plan.md': 'Plan: {{ input.request }}\nWrite {{ run.folder }}/work.json.\n',
  'prompts/implement.md': 'Implement {{ item.title }} of {{ steps.plan.payload }}.\n',
  'prompts/review.md': 'Review {{ item.id }}; rework {{ step.rework }}.\n',
  'schemas/work.json':
    '{ "type": "object", "required": ["items"], "properties": { "items": { "type": "array" } } }\n',
};

// [name, edits ([from, to] on sop.yaml), expected code, marker (in `file`, default sop.yaml), options]
const cases = [
  [
    'yaml-unclosed-flow',
    [['writes: [work]', 'writes: [work']],
    'SOP001',
    null,
    { at: [20, 5], note: 'where the parser notices' },
  ],
  [
    'yaml-bad-indent',
    [['    prompt: prompts/plan.md', '    prompt: prompts/plan.md\n   writes: [x]']],
    'SOP001',
    null,
    { at: [19, 1] },
  ],
  [
    'duplicate-step',
    [['  test:\n', '  plan:\n    prompt: prompts/plan.md\n    routes: { done: finish }\n  test:\n']],
    'SOP201',
    'plan:',
    { occurrence: 2 },
  ],
  ['duplicate-artifact-key', [['  review: { kind: md', '  work: { kind: md']], 'SOP201', 'work: { kind: md'],
  ['top-level-list', [[/^[\s\S]*$/, '- name: sample\n- steps: {}\n']], 'SOP003', null, { at: [1, 1] }],
  ['empty-file', [[/^[\s\S]*$/, '# nothing here\n']], 'SOP003', null, { at: [1, 1] }],
  ['missing-sop-yaml', [], 'SOP002', null, { deleteSop: true, at: [0, 0] }],
  ['unknown-top-level-key', [['worklists:', 'worklist:']], 'SOP101', 'worklist:'],
  ['unknown-step-key', [['    prompt: prompts/plan.md', '    promt: prompts/plan.md']], 'SOP101', 'promt:'],
  ['unknown-route-key', [['requires: [work] }', 'require: [work] }']], 'SOP101', 'require:'],
  [
    'unknown-artifact-key',
    [['path: "{{ run.folder }}/work.json"', 'paht: "{{ run.folder }}/work.json"']],
    'SOP101',
    'paht:',
  ],
  ['unknown-policy-key', [['ro: { sandbox: read-only', 'ro: { sandbx: read-only']], 'SOP101', 'sandbx:'],
  ['unknown-role-key', [['producer: { prompt:', 'producer: { promptt:']], 'SOP101', 'promptt:'],
  ['unknown-field-keyword', [['minLength: 1 }', 'minLenght: 1 }']], 'SOP101', 'minLenght:'],
  ['steps-is-a-list', [[/steps:\n[\s\S]*$/, 'steps:\n  - plan\n  - test\n']], 'SOP102', '- plan'],
  ['writes-is-text', [['writes: [work]', 'writes: work']], 'SOP102', 'work\n'],
  ['required-not-boolean', [['required: true', 'required: yes-please']], 'SOP102', 'yes-please'],
  [
    'routes-is-text',
    [['    routes:\n      done: { to: implement, requires: [work] }', '    routes: implement']],
    'SOP102',
    'implement\n',
  ],
  [
    'missing-name',
    [['name: sample\n', '']],
    'SOP103',
    'title:',
    { key: true, note: 'reported at the document start' },
  ],
  [
    'missing-artifact-kind',
    [['work: { kind: json, path:', 'work: { path:']],
    'SOP103',
    'work: { path',
    { note: 'on the artifact key' },
  ],
  [
    'missing-worklist-collection',
    [['items: { from: work, collection: items }', 'items: { from: work }']],
    'SOP103',
    'items: { from: work }',
  ],
  [
    'missing-question',
    [['        question: "Item {{ item.title }} was rejected {{ step.rework }} times. Approve?"\n', '']],
    'SOP103',
    'request_input:',
  ],
  ['enum-step-kind', [['kind: produce_verify', 'kind: produce-verify']], 'SOP105', 'produce-verify'],
  ['enum-sandbox', [['sandbox: read-only', 'sandbox: readonly']], 'SOP105', 'readonly'],
  ['enum-provider', [['provider: codex', 'provider: gpt']], 'SOP105', 'gpt'],
  ['enum-artifact-kind', [['kind: md', 'kind: yaml']], 'SOP105', 'yaml'],
  [
    'enum-network',
    [['ro: { sandbox: read-only, network: none }', 'ro: { sandbox: read-only, network: closed }']],
    'SOP105',
    'closed',
  ],
  [
    'enum-effort',
    [['defaults: { provider: codex,', 'defaults: { effort: extreme, provider: codex,']],
    'SOP105',
    'extreme',
  ],
  [
    'range-max-turns',
    [['ro: { sandbox: read-only,', 'ro: { max_turns: 0, sandbox: read-only,']],
    'SOP104',
    '0, sandbox',
  ],
  ['range-max-rework', [['max_rework: "{{ params.max_rework }}"', 'max_rework: 500']], 'SOP104', '500'],
  [
    'range-negative-attempts',
    [['    run: npm test', '    run: npm test\n    max_attempts: -1']],
    'SOP104',
    '-1',
  ],
  ['bad-step-name', [['  plan:\n', '  Plan:\n']], 'SOP106', 'Plan:'],
  ['bad-sop-name', [['name: sample', 'name: My SOP']], 'SOP106', 'My SOP'],
  [
    'bad-duration',
    [['    run: npm test', '    run: npm test\n    timeout: 5 minutes']],
    'SOP107',
    '5 minutes',
  ],
  [
    'bad-param-template',
    [['max_rework: "{{ params.max_rework }}"', 'max_rework: "{{ input.max }}"']],
    'SOP107',
    '"{{ input.max }}"',
  ],
  ['route-target-missing', [['{ to: implement, requires', '{ to: implemnt, requires']], 'SOP202', 'implemnt'],
  ['route-shorthand-missing', [['passed: finish', 'passed: finsh']], 'SOP202', 'finsh'],
  ['exhausted-target-missing', [['exhausted: test', 'exhausted: tests']], 'SOP202', 'tests,'],
  [
    'on-failure-target-missing',
    [['    run: npm test', '    run: npm test\n    on_failure: cleanup']],
    'SOP202',
    'cleanup',
  ],
  [
    'on-timeout-target-missing',
    [
      [
        '        answer: { approve: boolean }',
        '        answer: { approve: boolean }\n        timeout: 1h\n        on_timeout: escalate',
      ],
    ],
    'SOP202',
    'escalate',
  ],
  [
    'unreachable-step',
    [['  test:\n', '  orphan:\n    prompt: prompts/plan.md\n    routes: { done: finish }\n  test:\n']],
    'SOP203',
    'orphan:',
  ],
  ['no-way-to-finish', [['passed: finish', 'passed: plan']], 'SOP204', 'plan:'],
  [
    'requires-undeclared',
    [['{ to: implement, requires: [work] }', '{ to: implement, requires: [wrk] }']],
    'SOP205',
    'wrk',
  ],
  ['writes-undeclared', [['writes: [work]', 'writes: [work, plan_doc]']], 'SOP205', 'plan_doc'],
  ['worklist-from-undeclared', [['items: { from: work,', 'items: { from: tasks,']], 'SOP205', 'tasks'],
  ['for-each-unknown', [['for_each: items', 'for_each: itemz']], 'SOP206', 'itemz'],
  [
    'after-cycle',
    [
      [
        '  test:\n',
        '  a:\n    after: [b]\n    prompt: prompts/plan.md\n    routes: { done: finish }\n  b:\n    after: [a]\n    prompt: prompts/plan.md\n    routes: { done: finish }\n  test:\n',
      ],
    ],
    'SOP207',
    '[b]',
  ],
  ['after-self', [['    run: npm test', '    run: npm test\n    after: [test]']], 'SOP207', 'test]'],
  ['after-unknown', [['    run: npm test', '    run: npm test\n    after: [nothing]']], 'SOP208', 'nothing'],
  [
    'policy-unknown',
    [['writes: [review], policy: ro }', 'writes: [review], policy: rw }']],
    'SOP209',
    'rw }',
  ],
  ['default-policy-unknown', [['policy: edit }', 'policy: editor }']], 'SOP209', 'editor'],
  [
    'command-with-prompt',
    [['    run: npm test', '    run: npm test\n    prompt: prompts/plan.md']],
    'SOP210',
    'prompt: prompts/plan.md',
    { occurrence: 2 },
  ],
  ['agent-without-prompt', [['    prompt: prompts/plan.md\n', '']], 'SOP210', 'plan:'],
  [
    'produce-verify-without-verifier',
    [['    verifier: { prompt: prompts/review.md, writes: [review], policy: ro }\n', '']],
    'SOP210',
    'implement:',
  ],
  [
    'agent-without-routes',
    [['    routes:\n      done: { to: implement, requires: [work] }\n', '']],
    'SOP210',
    'plan:',
  ],
  [
    'schema-on-md-artifact',
    [
      [
        'path: "{{ run.folder }}/items/{{ item.key }}/review.md" }',
        'path: "{{ run.folder }}/items/{{ item.key }}/review.md", schema: schemas/work.json }',
      ],
    ],
    'SOP210',
    'schemas/work.json }',
  ],
  [
    'concurrency-without-for-each',
    [['    writes: [work]\n', '    writes: [work]\n    concurrency: 2\n']],
    'SOP210',
    'concurrency:',
  ],
  [
    'advance-outside-worklist',
    [
      [
        'done: { to: implement, requires: [work] }',
        'done: { complete_and_advance: true, exhausted: implement }',
      ],
    ],
    'SOP211',
    'complete_and_advance:',
  ],
  [
    'route-two-targets',
    [['failed: { fail: tests failed }', 'failed: { to: plan, finish: true }']],
    'SOP212',
    'failed:',
  ],
  [
    'route-no-target',
    [['failed: { fail: tests failed }', 'failed: { requires: [work] }']],
    'SOP212',
    'failed:',
  ],
  [
    'reserved-step-name',
    [
      ['  test:\n', '  fail:\n    prompt: prompts/plan.md\n    routes: { done: finish }\n  test:\n'],
      ['passed: finish', 'passed: { to: fail }'],
    ],
    'SOP213',
    'fail:\n',
  ],
  ['worklist-from-md', [['items: { from: work,', 'items: { from: review,']], 'SOP214', 'review,'],
  [
    'unknown-param',
    [['max_rework: "{{ params.max_rework }}"', 'max_rework: "{{ params.rework }}"']],
    'SOP215',
    '"{{ params.rework }}"',
  ],
  ['command-route-name', [['passed: finish', 'succeeded: finish']], 'SOP216', 'succeeded:'],
  ['prompt-missing', [['prompt: prompts/plan.md', 'prompt: prompts/plann.md']], 'SOP301', 'prompts/plann.md'],
  [
    'schema-missing',
    [['schema: schemas/work.json', 'schema: schemas/nope.json']],
    'SOP302',
    'schemas/nope.json',
  ],
  [
    'schema-not-json',
    [],
    'SOP303',
    null,
    { files: { 'schemas/work.json': '{ nope' }, file: 'schemas/work.json', at: [1, 1] },
  ],
  [
    'schema-bad-type',
    [],
    'SOP303',
    null,
    { files: { 'schemas/work.json': '{ "type": "strng" }' }, file: 'schemas/work.json', at: [1, 1] },
  ],
  [
    'schema-not-object',
    [],
    'SOP303',
    null,
    { files: { 'schemas/work.json': '[1, 2]' }, file: 'schemas/work.json', at: [1, 1] },
  ],
  [
    'prompt-escapes-folder',
    [['prompt: prompts/plan.md', 'prompt: ../outside.md']],
    'SOP304',
    '../outside.md',
  ],
  [
    'template-unknown-input',
    [],
    'SOP401',
    '{{ input.reqest }}',
    { files: { 'prompts/plan.md': 'Plan:\n  {{ input.reqest }}\n' }, file: 'prompts/plan.md' },
  ],
  [
    'template-unknown-root',
    [],
    'SOP401',
    '{{ foo.bar }}',
    {
      files: { 'prompts/plan.md': 'Plan {{ input.request }} with {{ foo.bar }}\n' },
      file: 'prompts/plan.md',
    },
  ],
  [
    'template-run-field',
    [],
    'SOP401',
    '{{ run.dir }}',
    { files: { 'prompts/plan.md': 'Write to {{ run.dir }}/work.json\n' }, file: 'prompts/plan.md' },
  ],
  [
    'template-command-input',
    [['run: npm test', 'run: "npm test -- {{ input.request }}"']],
    'SOP401',
    '"npm test --',
  ],
  [
    'template-question-run',
    [['question: "Item {{ item.title }}', 'question: "Item {{ run.folder }}']],
    'SOP401',
    '"Item {{ run.folder }}',
  ],
  [
    'template-item-outside-worklist',
    [],
    'SOP402',
    '{{ item.title }}',
    {
      files: { 'prompts/plan.md': 'Plan {{ input.request }}.\nFirst {{ item.title }}\n' },
      file: 'prompts/plan.md',
    },
  ],
  [
    'artifact-item-outside-worklist',
    [['path: "{{ run.folder }}/work.json"', 'path: "{{ run.folder }}/{{ item.key }}/work.json"']],
    'SOP402',
    '"{{ run.folder }}/{{ item.key }}/work.json"',
  ],
  [
    'template-later-step',
    [],
    'SOP403',
    '{{ steps.test.payload }}',
    {
      files: { 'prompts/plan.md': 'Plan {{ input.request }}; tests said {{ steps.test.payload }}\n' },
      file: 'prompts/plan.md',
    },
  ],
  [
    'template-unknown-step',
    [],
    'SOP403',
    '{{ steps.deploy.route }}',
    {
      files: { 'prompts/review.md': 'Review; deploy: {{ steps.deploy.route }}\n' },
      file: 'prompts/review.md',
    },
  ],
  [
    'template-unclosed',
    [],
    'SOP404',
    '{{ input.request\n',
    { files: { 'prompts/plan.md': 'Plan {{ input.request\nnow\n' }, file: 'prompts/plan.md' },
  ],
  [
    'template-expression',
    [],
    'SOP404',
    '{{ input.request | upper }}',
    { files: { 'prompts/plan.md': 'Plan {{ input.request | upper }}\n' }, file: 'prompts/plan.md' },
  ],
  [
    'artifact-path-parent',
    [['path: "{{ run.folder }}/work.json"', 'path: "../work.json"']],
    'SOP501',
    '"../work.json"',
  ],
  [
    'artifact-path-absolute',
    [['path: "{{ run.folder }}/work.json"', 'path: /etc/work.json']],
    'SOP501',
    '/etc/work.json',
  ],
  [
    'policy-path-parent',
    [['deny_read: [.env]', 'deny_read: [.env], allow_write: [../other]']],
    'SOP501',
    '../other',
  ],
  ['policy-path-absolute', [['deny_read: [.env]', 'deny_read: [/home/me/.ssh]']], 'SOP501', '/home/me/.ssh'],
  [
    'bypass-without-full-access',
    [['edit: { sandbox: workspace-write,', 'edit: { permission_mode: bypass, sandbox: workspace-write,']],
    'SOP502',
    'bypass',
  ],
  [
    'ask-rule-claude-ignores',
    [['edit: { sandbox: workspace-write,', 'edit: { ask: [Bash(git push:*), "Write(/migrations/**)"], sandbox: workspace-write,']],
    'SOP504',
    '"Write(/migrations/**)"',
  ],
  [
    'tools-unknown-server',
    [
      ['steps:\n', 'mcp_servers:\n  tracker: { command: node, args: [tracker.js] }\nsteps:\n'],
      ['    writes: [work]\n', '    writes: [work]\n    tools: { trackr: [get_issue] }\n'],
    ],
    'SOP260',
    'trackr',
  ],
  [
    'secret-undeclared',
    [
      [
        'steps:\n',
        "secrets: [TRACKER_TOKEN]\nmcp_servers:\n  tracker:\n    command: node\n    env: { TOKEN: '${{ secrets.TRACKR_TOKEN }}' }\nsteps:\n",
      ],
    ],
    'SOP290',
    "'${{ secrets.TRACKR",
  ],
  [
    'secret-in-args',
    [
      [
        'steps:\n',
        "secrets: [TRACKER_TOKEN]\nmcp_servers:\n  tracker: { command: node, args: ['--token=${{ secrets.TRACKER_TOKEN }}'] }\nsteps:\n",
      ],
    ],
    'SOP291',
    "'--token",
  ],
  [
    'secret-in-command-run',
    [['    run: npm test\n', "    run: 'npm test ${{ secrets.TRACKER_TOKEN }}'\n"], ['steps:\n', 'secrets: [TRACKER_TOKEN]\nsteps:\n']],
    'SOP291',
    "'npm test",
  ],
  [
    'skill-unknown',
    [['    writes: [work]\n', '    writes: [work]\n    skills: [releese-notes]\n']],
    'SOP292',
    'releese-notes',
    { files: { 'skills/release-notes/SKILL.md': '---\nname: release-notes\ndescription: writes release notes\n---\n' } },
  ],
  [
    'skill-without-front-matter',
    [['    writes: [work]\n', '    writes: [work]\n    skills: [release-notes]\n']],
    'SOP293',
    'release-notes',
    { files: { 'skills/release-notes/SKILL.md': '# Release notes\nWrite them.\n' } },
  ],
  [
    'skills-on-command-step',
    [['    run: npm test\n', '    run: npm test\n    skills: [release-notes]\n']],
    'SOP210',
    'skills:',
  ],
  ['mcp-server-reserved', [['steps:\n', 'mcp_servers:\n  sop: { command: node }\nsteps:\n']], 'SOP261', 'sop: {'],
  [
    'tools-on-command-step',
    [['    run: npm test\n', '    run: npm test\n    tools: { tracker: [get_issue] }\n']],
    'SOP210',
    'tools:',
  ],
  ['ask-mcp-rule', [['ro: { sandbox: read-only,', 'ro: { ask: [mcp__github__create_issue], sandbox: read-only,']], 'SOP504', 'mcp__github'],
  [
    'allow-commands-as-rule',
    [['edit: { sandbox: workspace-write,', 'edit: { allow_commands: ["Bash(npm test)"], sandbox: workspace-write,']],
    'SOP504',
    '"Bash(npm test)"',
  ],
  [
    'ask-with-bypass',
    [['edit: { sandbox: workspace-write,', 'edit: { sandbox: full-access, permission_mode: bypass, ask: [Bash],']],
    'SOP502',
    '[Bash]',
  ],
  [
    'read-only-with-allow-write',
    [['ro: { sandbox: read-only,', 'ro: { allow_write: [src/], sandbox: read-only,']],
    'SOP502',
    '[src/]',
  ],
];

for (const entry of fs.readdirSync(here)) {
  const dir = path.join(here, entry);
  if (fs.statSync(dir).isDirectory()) fs.rmSync(dir, { recursive: true });
}
for (const [name, edits, code, marker, options = {}] of cases) {
  let text = base;
  for (const [from, to] of edits) {
    const next = text.replace(from, to);
    if (next === text) throw new Error(`${name}: edit did not apply: ${from}`);
    text = next;
  }
  const dir = path.join(here, name);
  const files = { ...baseFiles, ...(options.files ?? {}) };
  for (const [file, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    fs.writeFileSync(path.join(dir, file), content);
  }
  if (!options.deleteSop) fs.writeFileSync(path.join(dir, 'sop.yaml'), text);
  const file = options.file ?? 'sop.yaml';
  let at = options.at;
  if (!at) {
    const source = file === 'sop.yaml' ? text : files[file];
    at = marker === null ? null : positionOf(source, marker, options.occurrence ?? 1, name);
  }
  fs.writeFileSync(
    path.join(dir, 'expect.json'),
    `${JSON.stringify({ code, file, line: at?.[0] ?? null, column: at?.[1] ?? null }, null, 2)}\n`,
  );
}
console.log(`${cases.length} malformed SOP folders written`);

function positionOf(text, marker, occurrence, name) {
  let offset = -1;
  for (let i = 0; i < occurrence; i++) {
    offset = text.indexOf(marker, offset + 1);
    if (offset < 0) throw new Error(`${name}: marker not found: ${marker}`);
  }
  const before = text.slice(0, offset).split('\n');
  return [before.length, before[before.length - 1].length + 1];
}
