// A pending input request as an HTML form built from its answer schema, and the form's fields back to the
// answer value. An approval (routes approved / rejected) is two buttons and a reason; an object of plain
// fields (string, enum, number, boolean) is one input each; anything else is a JSON text area. The run checks
// the answer against the schema itself: a value that does not fit is refused there, naming the field.
import type { JsonSchema } from '../shapes/execution-plan';
import type { PendingInput } from '../shapes/messages';
import { type Html, html } from './html';

type Field = { name: string; schema: Record<string, unknown>; required: boolean };

/** The schema's fields when every one is a plain value; undefined when the form must be JSON. */
function plainFields(schema: JsonSchema): Field[] | undefined {
  const s = schema as Record<string, unknown>;
  if (s.type !== 'object' || typeof s.properties !== 'object' || s.properties === null) return undefined;
  const required = new Set(Array.isArray(s.required) ? (s.required as string[]) : []);
  const fields: Field[] = [];
  for (const [name, value] of Object.entries(s.properties as Record<string, Record<string, unknown>>)) {
    const plain =
      Array.isArray(value.enum) || ['string', 'number', 'integer', 'boolean'].includes(String(value.type));
    if (!plain) return undefined;
    fields.push({ name, schema: value, required: required.has(name) });
  }
  return fields;
}

export const isApproval = (pending: PendingInput) =>
  pending.kind === 'tool_approval' ||
  (pending.routes?.includes('approved') && pending.routes.includes('rejected'));

function fieldInput(f: Field): Html {
  const id = `f-${f.name}`;
  const label = html`<label for="${id}">${f.name}${f.required ? ' *' : ''}${typeof f.schema.description === 'string' ? html` <small>${f.schema.description}</small>` : ''}</label>`;
  if (Array.isArray(f.schema.enum)) {
    return html`${label}<select id="${id}" name="f.${f.name}">${f.required ? '' : html`<option value=""></option>`}${f.schema.enum.map((v) => html`<option value="${JSON.stringify(v)}">${String(v)}</option>`)}</select>`;
  }
  if (f.schema.type === 'boolean') {
    return html`${label}<select id="${id}" name="f.${f.name}">${f.required ? '' : html`<option value=""></option>`}<option value="true">true</option><option value="false">false</option></select>`;
  }
  const type = f.schema.type === 'string' ? 'text' : 'number';
  return html`${label}<input id="${id}" type="${type}" name="f.${f.name}"${type === 'number' ? ' step="any"' : ''}${f.required ? ' required' : ''}>`;
}

/** The form's inputs (without the form element, the request id and the CSRF token). */
export function answerInputs(pending: PendingInput): Html {
  if (isApproval(pending)) {
    return html`<label for="reason-${pending.requestId}">Reason (sent with a rejection)</label>
<textarea id="reason-${pending.requestId}" name="reason" rows="2" data-testid="reason"></textarea>
<div class="buttons"><button name="decision" value="approve" class="approve" data-testid="approve">Approve</button>
<button name="decision" value="reject" class="reject" data-testid="reject">Reject</button></div>`;
  }
  const fields = plainFields(pending.schema);
  if (fields) {
    return html`${fields.map((f) => html`<div class="field">${fieldInput(f)}</div>`)}<div class="buttons"><button name="decision" value="answer" data-testid="answer">Answer</button></div>`;
  }
  return html`<label for="json-${pending.requestId}">Answer (JSON)</label>
<textarea id="json-${pending.requestId}" name="json" rows="6" data-testid="json"></textarea>
<details><summary>Answer schema</summary><pre>${JSON.stringify(pending.schema, null, 2)}</pre></details>
<div class="buttons"><button name="decision" value="answer" data-testid="answer">Answer</button></div>`;
}

/** The answer a submitted form gives, or what is wrong with it (naming the field). */
export function answerFromForm(
  pending: PendingInput,
  form: Record<string, string>,
): { value: unknown } | { problem: string } {
  if (isApproval(pending)) {
    if (form.decision === 'approve') return { value: { approve: true } };
    if (form.decision === 'reject') {
      const reason = (form.reason ?? '').trim();
      return { value: reason ? { approve: false, guidance: reason } : { approve: false } };
    }
    return { problem: 'decision: choose Approve or Reject' };
  }
  const fields = plainFields(pending.schema);
  if (!fields) {
    try {
      return { value: JSON.parse(form.json ?? '') };
    } catch (err) {
      return { problem: `answer: not valid JSON: ${(err as Error).message}` };
    }
  }
  const value: Record<string, unknown> = {};
  for (const f of fields) {
    const given = form[`f.${f.name}`];
    if (given === undefined || given === '') continue;
    if (Array.isArray(f.schema.enum) || f.schema.type === 'boolean') {
      try {
        value[f.name] = JSON.parse(given);
      } catch {
        return { problem: `${f.name}: not one of the choices` };
      }
    } else if (f.schema.type === 'string') value[f.name] = given;
    else if (Number.isFinite(Number(given))) value[f.name] = Number(given);
    else return { problem: `${f.name}: "${given}" is not a number` };
  }
  return { value };
}
