// Questions the agent writes: a route whose target is a `request_input` the SOP marks `agent_asks:` lets the
// agent's outcome carry its own question for a person, the reason it asks, and optionally the answer's fields
// narrowed (never widened: an answer must fit the step's schema and the agent's). Pure: the activity checks an
// outcome with it (a bad question refuses the attempt, with the reason in its record and the next prompt), the
// workflow shows and records what passed.

import { Validator } from '@cfworker/json-schema';
import type { JsonSchema, RouteSpec } from './execution-plan';

/** What the agent asked, as checked: shown next to the SOP's question, recorded with the answer. */
export interface AgentQuestion {
  question: string;
  reason: string;
  /** the answer fields the agent asked for (a JSON Schema object), when it narrowed them */
  answerSchema?: JsonSchema;
}

export const AGENT_QUESTION_DEFAULT_MAX = 1000;
export const AGENT_QUESTION_LIMIT = 4000;
const REASON_MAX = 1000;
const SCHEMA_MAX = 4000;
/** keywords an agent's answer field may use: the SOP format's field keywords, without defaults */
const FIELD_KEYWORDS = new Set([
  'type',
  'description',
  'enum',
  'minLength',
  'maxLength',
  'pattern',
  'minimum',
  'maximum',
  'items',
]);

/** The outcome's `ask` property, for the steps with a route that lets the agent ask (strict-mode shape). */
export function askOutcomeProperty(routes: string[]): JsonSchema {
  return {
    type: ['object', 'null'],
    description: `null, unless your route is ${routes.map((r) => `"${r}"`).join(' or ')}: then your question for a person`,
    additionalProperties: false,
    required: ['question', 'reason', 'answer_schema'],
    properties: {
      question: { type: 'string', description: 'what you ask the person, self-contained' },
      reason: { type: 'string', description: 'why you cannot go on without the answer' },
      answer_schema: {
        type: ['string', 'null'],
        description:
          'null, or the JSON text of a JSON Schema object narrowing the answer fields the step allows (their names and types as given)',
      },
    },
  };
}

/** The route names of `routes` whose target lets the agent ask. */
export function askingRoutes(routes: RouteSpec[]): string[] {
  return routes
    .filter((r) => r.target.kind === 'request_input' && r.target.request.agentAsks)
    .map((r) => r.name);
}

/**
 * Checks the `ask` of an outcome that took `route`: the question the request will show, or why it is
 * refused. No ask is fine (the SOP's question alone is shown).
 */
export function checkAgentQuestion(
  ask: unknown,
  route: RouteSpec | undefined,
): { question?: AgentQuestion; problem?: string } {
  if (ask === undefined || ask === null) return {};
  const target = route?.target.kind === 'request_input' ? route.target.request : undefined;
  if (!target?.agentAsks)
    return {
      problem: `your outcome carries a question for a person (ask), but route "${route?.name}" does not let you ask: set ask to null`,
    };
  const limits = target.agentAsks;
  const value = ask as { question?: unknown; reason?: unknown; answer_schema?: unknown };
  const refused = (why: string) => ({ problem: `your question for a person was refused: ${why}` });
  if (typeof value !== 'object' || Array.isArray(value)) return refused('ask must be an object');
  if (typeof value.question !== 'string' || !value.question.trim())
    return refused('ask.question must be a non-empty string');
  if (value.question.length > limits.maxLength)
    return refused(
      `ask.question is ${value.question.length} characters; this request accepts at most ${limits.maxLength}: ask shorter`,
    );
  if (typeof value.reason !== 'string' || !value.reason.trim())
    return refused('ask.reason must say why you ask (a non-empty string)');
  if (value.reason.length > REASON_MAX)
    return refused(`ask.reason is ${value.reason.length} characters; at most ${REASON_MAX}`);
  const question: AgentQuestion = { question: value.question.trim(), reason: value.reason.trim() };
  if (value.answer_schema === undefined || value.answer_schema === null) return { question };
  if (!limits.answerSchema)
    return refused('this request does not let you shape the answer: set ask.answer_schema to null');
  const schema = parseAnswerSchema(value.answer_schema, target.schema);
  if (typeof schema === 'string') return refused(`ask.answer_schema ${schema}`);
  return { question: { ...question, answerSchema: schema } };
}

/** The agent's answer schema, or what is wrong with it (outside what the step's answer allows). */
function parseAnswerSchema(text: unknown, allowed: JsonSchema): JsonSchema | string {
  if (typeof text !== 'string') return 'must be the JSON text of a schema object, or null';
  if (text.length > SCHEMA_MAX) return `is ${text.length} characters; at most ${SCHEMA_MAX}`;
  let schema: unknown;
  try {
    schema = JSON.parse(text);
  } catch {
    return 'is not JSON';
  }
  if (!schema || typeof schema !== 'object' || Array.isArray(schema)) return 'must be a JSON object';
  const { type, properties, required, description, ...other } = schema as Record<string, unknown>;
  if (Object.keys(other).length > 0)
    return `may only have type, properties, required and description (not ${Object.keys(other).join(', ')})`;
  if (type !== undefined && type !== 'object') return 'must be of type object';
  if (description !== undefined && typeof description !== 'string') return 'description must be text';
  const fields = (properties ?? {}) as Record<string, unknown>;
  if (typeof fields !== 'object' || Array.isArray(fields)) return 'properties must be an object';
  const stepFields = (allowed.properties ?? {}) as Record<string, { type?: unknown }>;
  for (const [name, field] of Object.entries(fields)) {
    if (!(name in stepFields))
      return `names field "${name}", which the step's answer does not have (its fields: ${Object.keys(stepFields).join(', ') || 'none'})`;
    if (!field || typeof field !== 'object' || Array.isArray(field))
      return `field "${name}" must be a schema object`;
    const keys = Object.keys(field).filter((k) => !FIELD_KEYWORDS.has(k));
    if (keys.length > 0)
      return `field "${name}" uses ${keys.join(', ')}; allowed: ${[...FIELD_KEYWORDS].join(', ')}`;
    const fieldType = (field as { type?: unknown }).type;
    if (fieldType !== undefined && fieldType !== stepFields[name].type)
      return `field "${name}" is of type ${JSON.stringify(fieldType)}, but the step's answer has it as ${JSON.stringify(stepFields[name].type)}`;
  }
  if (required !== undefined) {
    if (!Array.isArray(required) || required.some((r) => typeof r !== 'string' || !(r in stepFields)))
      return "required must list fields of the step's answer";
  }
  const out: JsonSchema = { type: 'object', properties: fields, ...(required ? { required } : {}) };
  try {
    new Validator(out as never, '2020-12', false).validate({});
  } catch (err) {
    return `is not a usable JSON Schema: ${(err as Error).message}`;
  }
  return description ? { ...out, description } : out;
}

/** The schema an answer must fit: the step's, and the agent's narrowing of it when it sent one. */
export function answerSchemaFor(stepSchema: JsonSchema, agent: AgentQuestion | undefined): JsonSchema {
  return agent?.answerSchema ? { allOf: [stepSchema, agent.answerSchema] } : stepSchema;
}
