// How `sop logs --follow` and `sop runs watch` print a live action: a line like the run's events, or one
// JSON object (`kind: "action"`) with --json.
import { actionText, liveLabel, type SeenAction } from '../client/live-activity';

export function printLiveAction(seen: SeenAction, opts: { json?: boolean; run?: boolean }): void {
  const { action, execution, missed } = seen;
  const a = execution.activity;
  const run = opts.run ? `${execution.workflowId}  ` : '';
  if (opts.json) {
    const where = { step: a.step, ...(a.item ? { item: a.item } : {}), role: a.role, attempt: a.attempt };
    const line = {
      kind: 'action',
      time: action.at,
      timeMs: Date.parse(action.at),
      workflowId: execution.workflowId,
      ...where,
      harness: a.harness,
      ...(missed ? { missed } : {}),
      action,
    };
    process.stdout.write(`${JSON.stringify(line)}\n`);
    return;
  }
  if (missed > 0) {
    process.stdout.write(
      `${action.at.slice(11, 19)}  ${'action'.padEnd(15)} ${run}${liveLabel(a)}  … ${missed} more (sop logs --raw ${a.step})\n`,
    );
  }
  process.stdout.write(
    `${action.at.slice(11, 19)}  ${'action'.padEnd(15)} ${run}${liveLabel(a)}  ${actionText(action)}\n`,
  );
}
