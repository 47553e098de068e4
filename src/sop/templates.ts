// Compile-time checks of `{{ ... }}` templates: every variable must resolve in the scope of the place it
// is used (a prompt of a given step, an artifact path, an input question).

export interface TemplateVariable {
  path: string;
  /** offset of `{{` in the text */
  offset: number;
}

export interface TemplateProblem {
  kind: 'malformed';
  offset: number;
  text: string;
}

const OPEN = '{{';
const VARIABLE = /^\{\{\s*([\w-]+(?:\.[\w-]+)*)\s*\}\}/;

export function scanTemplate(text: string): { variables: TemplateVariable[]; problems: TemplateProblem[] } {
  const variables: TemplateVariable[] = [];
  const problems: TemplateProblem[] = [];
  let from = 0;
  for (;;) {
    const offset = text.indexOf(OPEN, from);
    if (offset < 0) break;
    const match = VARIABLE.exec(text.slice(offset));
    if (match) {
      variables.push({ path: match[1], offset });
      from = offset + match[0].length;
    } else {
      const end = text.indexOf('}}', offset);
      problems.push({ kind: 'malformed', offset, text: text.slice(offset, end < 0 ? offset + 30 : end + 2) });
      from = offset + OPEN.length;
    }
  }
  return { variables, problems };
}

export interface TemplateScope {
  input: Set<string>;
  params: Set<string>;
  /** the step the template belongs to, if any */
  step?: string;
  /** item.* is available (a worklist step, or an artifact only worklist steps use) */
  item: boolean;
  /** steps whose outputs may exist when this template is rendered */
  earlierSteps?: Set<string>;
  /** roots allowed here */
  roots: ReadonlyArray<TemplateRoot>;
}

type TemplateRoot = 'input' | 'params' | 'run' | 'step' | 'item' | 'steps' | 'routes' | 'pull_request';
/**
 * An input question (input step, request_input) is rendered by the workflow from what it holds: the run's
 * input and params, the step and the work item. Not steps.* (agent output) nor run.* (worker paths).
 */
export const QUESTION_ROOTS: ReadonlyArray<TemplateRoot> = ['input', 'params', 'step', 'item'];

const ITEM_FIELDS = ['id', 'title', 'status', 'key'];
const RUN_FIELDS = ['folder', 'sop', 'task'];
const STEP_FIELDS = ['name', 'rework', 'attempt'];

export type VariableVerdict =
  | { ok: true }
  | { ok: false; code: 'SOP401' | 'SOP402' | 'SOP403'; message: string };

export function checkVariable(path: string, scope: TemplateScope): VariableVerdict {
  const [root, first, second] = path.split('.');
  const unknown = (why: string): VariableVerdict => ({
    ok: false,
    code: 'SOP401',
    message: `{{ ${path} }}: ${why}`,
  });
  if (!(scope.roots as readonly string[]).includes(root)) {
    return unknown(`"${root}" is not available here (available: ${scope.roots.join(', ')})`);
  }
  switch (root) {
    case 'input':
      if (first !== undefined && !scope.input.has(first)) return unknown(`the SOP has no input "${first}"`);
      return { ok: true };
    case 'params':
      if (first !== undefined && !scope.params.has(first)) return unknown(`the SOP has no param "${first}"`);
      return { ok: true };
    case 'run':
      if (!RUN_FIELDS.includes(first)) return unknown(`run has ${RUN_FIELDS.join(', ')}`);
      return { ok: true };
    case 'step':
      if (!STEP_FIELDS.includes(first)) return unknown(`step has ${STEP_FIELDS.join(', ')}`);
      return { ok: true };
    case 'item':
      if (!scope.item) {
        return {
          ok: false,
          code: 'SOP402',
          message: `{{ ${path} }} is used outside a worklist step${scope.step ? ` (step ${scope.step} has no for_each)` : ''}`,
        };
      }
      if (!ITEM_FIELDS.includes(first)) return unknown(`item has ${ITEM_FIELDS.join(', ')}`);
      return { ok: true };
    case 'steps': {
      if (first === undefined) return unknown('name a step: steps.<step>.payload');
      if (scope.earlierSteps === undefined) return { ok: true }; // unknown while the route table is broken
      if (!scope.earlierSteps.has(first)) {
        return {
          ok: false,
          code: 'SOP403',
          message: `{{ ${path} }}: step "${first}" ${
            scope.earlierSteps === undefined
              ? 'is not known here'
              : `cannot have run before ${scope.step ?? 'this point'}`
          }`,
        };
      }
      if (second !== undefined && second !== 'payload' && second !== 'route') {
        return unknown('a step output has route and payload');
      }
      return { ok: true };
    }
    case 'routes':
      // deliveries: the routes the run took, as `step: route` lines
      if (first !== undefined) return unknown('routes is the list of routes taken, without fields');
      return { ok: true };
    case 'pull_request':
      if (first !== 'number' && first !== 'url') return unknown('pull_request has number, url');
      return { ok: true };
    default:
      return unknown('unknown variable');
  }
}

/** 1-based line and column of an offset in a text. */
export function positionOf(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}
