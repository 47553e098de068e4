// Human input: one pending request at a time, answered through the handlers (handlers.ts) or timed out.
import { Validator } from '@cfworker/json-schema';
import { condition } from '@temporalio/workflow';
import type { WorkItem } from '../../model/contract';
import type { AnswerInput } from '../../model/message-args';
import type { InputRequestSpec, StepSpec } from '../../model/plan';
import { renderText } from '../render-text';
import type { RunContext } from './context';
import { setStatus, showInputStep } from './visibility';

export async function requestInput(
  ctx: RunContext,
  step: StepSpec,
  item: WorkItem | undefined,
  request: InputRequestSpec,
  rework: number,
): Promise<{ answered: true; value: unknown } | { answered: false }> {
  ctx.requestCounter++;
  const question = renderText(request.question, {
    step: { name: step.name, rework },
    item: item ? { ...item, key: item.id } : undefined,
  });
  await condition(() => ctx.pending === undefined); // one pending request at a time
  ctx.pending = {
    requestId: `${step.name}${item ? `-${item.id}` : ''}-${ctx.requestCounter}`,
    step: step.name,
    item: item?.id,
    question,
    schema: request.schema,
    validator: new Validator(request.schema as never, '2020-12', false),
  };
  ctx.answer = undefined;
  showInputStep(ctx, step.name);
  setStatus(ctx, 'waiting_input');
  let arrived = true;
  if (request.timeoutMs) arrived = await condition(() => ctx.answer !== undefined, request.timeoutMs);
  else await condition(() => ctx.answer !== undefined);
  const value = (ctx.answer as AnswerInput | undefined)?.value; // set by the handlers meanwhile
  ctx.pending = undefined;
  ctx.answer = undefined;
  setStatus(ctx, 'running');
  return arrived ? { answered: true, value } : { answered: false };
}
