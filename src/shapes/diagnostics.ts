// Every problem the compiler can report has a stable code, a severity and a fix hint. The error-code table
// of docs/sop-format.md is generated from DIAGNOSTIC_CODES (`npm run docs`), so it cannot drift.

import { YAML_LIMITS } from './yaml-limits';

export const DIAGNOSTIC_CODES = {
  SOP001: {
    severity: 'error',
    title: 'YAML syntax error',
    hint: 'fix the YAML syntax at the position shown',
  },
  SOP002: { severity: 'error', title: 'SOP file not found', hint: 'an SOP is a folder with a sop.yaml file' },
  SOP003: {
    severity: 'error',
    title: 'wrong document shape',
    hint: 'the file must hold a mapping (key: value pairs) at the top level',
  },
  SOP004: {
    severity: 'error',
    title: 'YAML aliases expand too far',
    hint: `write the values out instead of repeating aliases (at most ${YAML_LIMITS.aliasValues.toLocaleString('en')} values from aliases per file; an alias may not contain itself)`,
  },
  SOP005: {
    severity: 'error',
    title: 'YAML nested too deeply',
    hint: `flatten the structure: at most ${YAML_LIMITS.depth} levels of nesting`,
  },
  SOP006: {
    severity: 'error',
    title: 'YAML file too large',
    hint: `an SOP file holds at most ${YAML_LIMITS.bytes / 1024 / 1024} MiB: move long texts into prompt files`,
  },
  SOP101: { severity: 'error', title: 'unknown key', hint: 'remove the key or fix its spelling' },
  SOP102: { severity: 'error', title: 'wrong type', hint: 'use a value of the type shown' },
  SOP103: { severity: 'error', title: 'missing required key', hint: 'add the key' },
  SOP104: { severity: 'error', title: 'value out of range', hint: 'use a value inside the allowed range' },
  SOP105: { severity: 'error', title: 'value not allowed', hint: 'use one of the allowed values' },
  SOP106: { severity: 'error', title: 'invalid name', hint: 'names use lowercase letters, digits, _ and -' },
  SOP107: { severity: 'error', title: 'invalid value', hint: 'see the message for the expected form' },
  SOP201: { severity: 'error', title: 'duplicate key', hint: 'each name may appear once in a mapping' },
  SOP202: {
    severity: 'error',
    title: 'route target does not exist',
    hint: 'name a step of this SOP, or use finish / fail',
  },
  SOP203: {
    severity: 'error',
    title: 'unreachable step',
    hint: 'route to the step from another step, give it `after:`, or remove it',
  },
  SOP204: {
    severity: 'error',
    title: 'no way to finish',
    hint: 'give the step (or a step it routes to) a route that reaches finish',
  },
  SOP205: {
    severity: 'error',
    title: 'undeclared artifact',
    hint: 'declare the artifact under `artifacts:` or fix the name',
  },
  SOP206: {
    severity: 'error',
    title: 'unknown worklist',
    hint: 'declare the worklist under `worklists:` or fix the name',
  },
  SOP207: { severity: 'error', title: 'dependency cycle in after:', hint: 'remove one of the dependencies' },
  SOP208: { severity: 'error', title: 'unknown step in after:', hint: 'name a step of this SOP' },
  SOP209: {
    severity: 'error',
    title: 'unknown policy',
    hint: 'declare it under `policies:` here or in sop.config.yaml',
  },
  SOP210: {
    severity: 'error',
    title: 'step fields do not match its kind',
    hint: 'see the message for the fields this kind needs',
  },
  SOP211: {
    severity: 'error',
    title: 'complete_and_advance outside a worklist step',
    hint: 'only a step with `for_each:` can complete and advance items',
  },
  SOP212: {
    severity: 'error',
    title: 'route needs exactly one target',
    hint: 'use one of to / finish / fail / request_input / complete_and_advance',
  },
  SOP213: {
    severity: 'error',
    title: 'reserved name',
    hint: 'finish and fail are route targets; rename the step',
  },
  SOP214: {
    severity: 'error',
    title: 'worklist source is not a JSON artifact',
    hint: 'a worklist reads its items from an artifact of kind json',
  },
  SOP215: {
    severity: 'error',
    title: 'unknown parameter',
    hint: 'declare the parameter under `params:` with a default',
  },
  SOP216: {
    severity: 'error',
    title: 'route names do not fit the step kind',
    hint: 'command steps route on passed / failed; sop steps on completed / failed (or, with route_on: STEP, on the routes that step of the called SOP took, plus failed); input steps on answered, approved / rejected (an approval), or the values of their route_on field',
  },
  SOP217: {
    severity: 'error',
    title: 'answer value without a route',
    hint: 'give every value the answer can take a route: approved and rejected for an approval, each enum value of the route_on field',
  },
  SOP218: {
    severity: 'error',
    title: 'answer cannot be routed on',
    hint: 'route_on must name a field of answer: with an enum of strings; an approval answer needs approve: boolean',
  },
  SOP230: {
    severity: 'error',
    title: 'trigger needs exactly one source',
    hint: 'give each trigger one of schedule, webhook, event or poll; declare several triggers for several sources',
  },
  SOP231: {
    severity: 'error',
    title: 'trigger fields do not fit together',
    hint: 'see the message for the fields this trigger needs',
  },
  SOP232: {
    severity: 'error',
    title: 'trigger input is not an input of the SOP',
    hint: 'map only fields declared under `input:`, or declare the field',
  },
  SOP233: {
    severity: 'error',
    title: 'trigger leaves a required input out',
    hint: "give the field in the trigger's `input:` or give it a default under `input:`",
  },
  SOP234: {
    severity: 'error',
    title: 'event nobody emits',
    hint: 'emit the event from a route or finish of an SOP (`emits: NAME`), or fix the name',
  },
  SOP235: {
    severity: 'error',
    title: 'cycle of events between SOPs',
    hint: 'an SOP may not start itself again through events: remove one emits or listener of the chain',
  },
  SOP236: {
    severity: 'error',
    title: 'webhook name used twice',
    hint: 'each webhook name is one URL (/hooks/<name>): give each trigger its own name; only the GitHub App hook "github" is shared, by triggers with one secret_env',
  },
  SOP240: {
    severity: 'error',
    title: 'called SOP not in the catalog',
    hint: 'name an SOP of the catalog (`sop workflows list`) in `sop:`, or add it under sops/',
  },
  SOP241: {
    severity: 'error',
    title: 'input is not an input of the called SOP',
    hint: 'map only fields the called SOP declares under its `input:`',
  },
  SOP242: {
    severity: 'error',
    title: 'required input of the called SOP not given',
    hint: "give the field in the step's `input:` or give it a default in the called SOP",
  },
  SOP243: {
    severity: 'error',
    title: 'cycle of SOP calls',
    hint: 'an SOP may not call itself, directly or through other SOPs: remove one call of the chain',
  },
  SOP244: {
    severity: 'error',
    title: 'route_on names no step of the called SOP',
    hint: 'route_on on a sop step names a step of the called SOP; its routes are the routes that step took',
  },
  SOP250: {
    severity: 'error',
    title: "verifier shares its producer's session",
    hint: 'a verifier judges the work afresh: give it session: fresh (the default) or a slot of its own',
  },
  SOP251: {
    severity: 'error',
    title: 'session: item outside a worklist step',
    hint: 'only steps with `for_each:` have items: use session: step (or run, or a slot name)',
  },
  SOP260: {
    severity: 'error',
    title: 'unknown tool server',
    hint: 'declare the server under `mcp_servers:` in sop.yaml or sop.config.yaml, or fix the name',
  },
  SOP261: {
    severity: 'error',
    title: 'reserved tool server name',
    hint: 'the runtime gives Claude Code its own server named sop (for ask:): rename the server',
  },
  SOP270: {
    severity: 'error',
    title: 'unknown agent profile',
    hint: 'declare the profile under `agents:` in sop.yaml or sop.config.yaml, or fix the name',
  },
  SOP280: {
    severity: 'error',
    title: 'delivery at a route that does not exist',
    hint: 'write `on:` as end, failure or STEP.ROUTE naming a step of this SOP and one of its routes',
  },
  SOP281: {
    severity: 'error',
    title: 'delivery name used twice',
    hint: "each delivery name is part of the key of its forge writes: give every comment, label set and status its own name (pull-request is the pull request's)",
  },
  SOP282: {
    severity: 'error',
    title: 'labels that contradict each other',
    hint: 'a label is added or removed, not both; an agent may ask for at most as many labels as are allowed',
  },
  SOP290: {
    severity: 'error',
    title: 'unknown secret',
    hint: 'declare the secret under `secrets:` in sop.yaml (or sop.config.yaml), or fix the name',
  },
  SOP291: {
    severity: 'error',
    title: 'secret where it cannot go',
    hint: "a secret reaches only a stdio tool server's `env:` or a command step's `env:`: move the reference there",
  },
  SOP292: {
    severity: 'error',
    title: 'unknown skill',
    hint: 'create skills/<name>/SKILL.md next to sop.yaml (or in the project), or fix the name',
  },
  SOP293: {
    severity: 'error',
    title: 'unusable skill folder',
    hint: 'a skill is a SKILL.md with name and description front matter plus text files, 256 KB in all',
  },
  SOP294: {
    severity: 'error',
    title: 'unknown quota',
    hint: 'declare the key under `quotas:` in sop.config.yaml, or fix the name',
  },
  SOP301: { severity: 'error', title: 'prompt file missing', hint: 'create the file or fix the path' },
  SOP302: { severity: 'error', title: 'schema file missing', hint: 'create the file or fix the path' },
  SOP303: { severity: 'error', title: 'invalid JSON schema', hint: 'the file must be a JSON Schema object' },
  SOP304: {
    severity: 'error',
    title: 'file outside the SOP folder',
    hint: 'prompt and schema paths are relative to the SOP folder and may not leave it',
  },
  SOP401: {
    severity: 'error',
    title: 'unknown template variable',
    hint: 'use a variable the message names as available there: prompts have input.*, params.*, run.*, step.*, item.* (worklist steps) and steps.<earlier step>.*; input questions input.*, params.*, step.* and item.*; command lines params.* only',
  },
  SOP402: {
    severity: 'error',
    title: 'item variable outside a worklist step',
    hint: 'only steps with `for_each:` (and artifacts only they use) have an item',
  },
  SOP403: {
    severity: 'error',
    title: 'step output that cannot exist yet',
    hint: 'refer only to steps that always run before this one (via routes or after:)',
  },
  SOP404: { severity: 'error', title: 'malformed template', hint: 'write variables as {{ name.path }}' },
  SOP501: {
    severity: 'error',
    title: 'path escapes the workspace',
    hint: 'artifact and policy paths are relative to the workspace: no leading /, no ..',
  },
  SOP502: {
    severity: 'error',
    title: 'policy combination not allowed',
    hint: 'see the message; policies may only relax what their sandbox allows',
  },
  SOP503: {
    severity: 'error',
    title: 'deny_read path that git can reveal',
    hint: 'untrack the path and purge it from history (git rm -r --cached -- PATH; git filter-repo --invert-paths --path PATH), or set validation: warn on the step policy to run with only the working tree protected',
  },
  SOP504: {
    severity: 'error',
    title: 'permission rule Claude Code does not honour',
    hint: 'ask: takes Bash(command prefix:*), Edit(path glob) for file edits, Read(path glob), WebFetch(domain:host), WebSearch or mcp__server__tool (a tool the step allows under tools:), paths relative to the workspace; allow_commands takes the start of a command (npm test); the message names the form to use',
  },
  SOP801: {
    severity: 'warning',
    title: 'verifier can write to the workspace',
    hint: 'give the verifier a read-only policy so it judges the work instead of changing it',
  },
  SOP802: { severity: 'warning', title: 'artifact declared but never used', hint: 'remove it or use it' },
  SOP803: {
    severity: 'warning',
    title: 'name differs from its folder',
    hint: 'name the folder like the SOP so the catalog and the files agree',
  },
  SOP804: {
    severity: 'warning',
    title: 'network open',
    hint: 'prefer network: none or an allowlist of domains',
  },
  SOP830: {
    severity: 'warning',
    title: 'event nobody listens to',
    hint: 'add a trigger `event: NAME` to the SOP that should start, or remove the emits',
  },
} as const satisfies Record<string, { severity: 'error' | 'warning'; title: string; hint: string }>;

export type DiagnosticCode = keyof typeof DIAGNOSTIC_CODES;

export interface Diagnostic {
  code: DiagnosticCode;
  severity: 'error' | 'warning';
  message: string;
  hint: string;
  /** path of the file, relative to the working directory when possible */
  file: string;
  /** 1-based; 0 when the problem has no position (a missing file) */
  line: number;
  column: number;
  /** the path of keys inside the document, e.g. steps.plan.routes.accepted.to */
  at?: string;
}

export function diagnostic(
  code: DiagnosticCode,
  message: string,
  where: { file: string; line?: number; column?: number; at?: string },
  hint?: string,
): Diagnostic {
  const entry = DIAGNOSTIC_CODES[code];
  return {
    code,
    severity: entry.severity,
    message,
    hint: hint ?? entry.hint,
    file: where.file,
    line: where.line ?? 0,
    column: where.column ?? 0,
    at: where.at,
  };
}

/** `file:line:col: error SOP202: message (hint: ...)`: the shape editors and terminals link. */
export function formatDiagnostic(d: Diagnostic): string {
  const position = d.line > 0 ? `${d.file}:${d.line}:${d.column}` : d.file;
  return `${position}: ${d.severity} ${d.code}: ${d.message}\n  hint: ${d.hint}`;
}

/** The error-code table of docs/sop-format.md. */
export function diagnosticTable(): string {
  const rows = Object.entries(DIAGNOSTIC_CODES).map(
    ([code, entry]) => `| ${code} | ${entry.severity} | ${entry.title} | ${entry.hint} |`,
  );
  return ['| code | severity | problem | what to do |', '|---|---|---|---|', ...rows].join('\n');
}

/** Thrown when a definition does not compile; carries every diagnostic, not just the first. */
export class SopCompileError extends Error {
  constructor(readonly diagnostics: Diagnostic[]) {
    const errors = diagnostics.filter((d) => d.severity === 'error');
    super(
      `${errors.length} error${errors.length === 1 ? '' : 's'} in SOP definition:\n${errors
        .map(formatDiagnostic)
        .join('\n')}`,
    );
    this.name = 'SopCompileError';
  }
}

/** `did you mean "x"?` for the closest candidate, when close enough. */
export function suggest(word: string, candidates: Iterable<string>): string | undefined {
  const match = didYouMean(word, candidates);
  return match ? `did you mean "${match}"?` : undefined;
}

/** The closest candidate by edit distance, when close enough to be a likely typo. */
export function didYouMean(word: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    const d = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(
        previous[j] + 1,
        current[j - 1] + 1,
        previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = current;
  }
  return previous[b.length];
}
