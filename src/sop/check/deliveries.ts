// Deliveries to the forge (`deliver:`): the steps and routes they name, and their templates (which see the
// run's input, params, steps, routes and the pull request).

import { checkDeliver } from '../deliver';
import { effectiveRoutes, forEachOf } from '../normalize';
import { type CheckContext, checkTemplateText } from './context';

export function checkDeliveries(ctx: CheckContext): void {
  const { steps } = ctx;
  checkDeliver(
    ctx.sop.deliver,
    (step) =>
      steps[step]
        ? {
            routes: effectiveRoutes(steps[step]).map((r) => r.name),
            worklist: forEachOf(steps[step]) !== undefined,
          }
        : undefined,
    ctx.report,
    (text, at) =>
      checkTemplateText(
        ctx,
        text,
        {
          input: ctx.inputs,
          params: ctx.params,
          item: false,
          roots: ['input', 'params', 'run', 'steps', 'routes', 'pull_request'],
        },
        { yaml: at },
      ),
  );
}
