// Prompt files and every other template (sop step input, command lines, triggers and emitted events): each
// variable against what is in scope where the text is used.

import { forEachOf, roleOf, stepKind, stepRoles } from '../normalize';
import type { TemplateScope } from '../templates';
import { checkTriggers, visitStrings } from '../trigger-checks';
import { type CheckContext, checkTemplateText } from './context';
import { predecessors } from './graph';

/** Each step's prompts (read into ctx.loaded), sop step input and command line. */
export function checkStepTemplates(ctx: CheckContext, hasTargetErrors: boolean): void {
  const { files, report } = ctx;
  for (const [name, step] of Object.entries(ctx.steps)) {
    const inWorklist = forEachOf(step) !== undefined;
    const scope: TemplateScope = {
      input: ctx.inputs,
      params: ctx.params,
      step: name,
      item: inWorklist,
      earlierSteps: hasTargetErrors ? undefined : predecessors(ctx, name),
      roots: ['input', 'params', 'run', 'step', 'item', 'steps'],
    };
    for (const { role, keyPath } of stepRoles(step)) {
      const prompt = roleOf(step, role).prompt;
      if (prompt === undefined) {
        if (role !== 'agent')
          report('SOP103', `the ${role} of ${name} needs a prompt`, ['steps', name, ...keyPath], true);
        continue;
      }
      const promptAt = ['steps', name, ...keyPath, 'prompt'];
      const text = files.read(prompt);
      if (text === undefined) {
        report('SOP301', `prompt file ${files.display(prompt)} does not exist`, promptAt);
        continue;
      }
      if (typeof text !== 'string') {
        report('SOP304', `prompt path "${prompt}" leaves the SOP folder`, promptAt);
        continue;
      }
      ctx.loaded[prompt] = text;
      checkTemplateText(ctx, text, scope, { file: prompt });
    }
    if (stepKind(step) === 'sop') {
      visitStrings(step.input ?? {}, ['steps', name, 'input'], (text, at) =>
        checkTemplateText(ctx, text, scope, { yaml: at }),
      );
    }
    if (step.run !== undefined) {
      // Commands see only params (set by whoever starts the run), never input or agent output: those
      // would turn a shell line into an injection point.
      checkTemplateText(
        ctx,
        step.run,
        { input: new Set(), params: ctx.params, step: name, item: false, roots: ['params'] },
        { yaml: ['steps', name, 'run'] },
      );
    }
  }
}

/** Triggers and emitted events, whose templates see the run's input, params and steps. */
export function checkTriggerTemplates(ctx: CheckContext): void {
  checkTriggers(ctx.sop, ctx.report, (text, at) =>
    checkTemplateText(
      ctx,
      text,
      { input: ctx.inputs, params: ctx.params, item: false, roots: ['input', 'params', 'run', 'steps'] },
      { yaml: at },
    ),
  );
}
