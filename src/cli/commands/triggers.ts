import type { ScheduleOverlapPolicy } from '@temporalio/client';
import { ScheduleNotFoundError } from '@temporalio/client';
import type { Command } from 'commander';
import { formatDiagnostic } from '../../shapes/diagnostics';
import type { SensorPause } from '../../shapes/trigger-shapes';
import type { TriggerSpec } from '../../shapes/triggers';
import { Catalog } from '../../sop/catalog';
import { ScheduleOverlap } from '../../sop/trigger-schema';
import { declaredTriggers } from '../../triggers/declared';
import { fireScheduleNow, pollSensorNow } from '../../triggers/fire-now';
import { scheduleIdOf } from '../../triggers/schedules';
import { describeSensor, sensorIdOf, setSensorPaused } from '../../triggers/sensors';
import { type TriggerRow, triggerRows } from '../../triggers/status';
import { syncTriggers, TriggersInvalidError } from '../../triggers/sync';
import { CliError, ExitCode } from '../errors';
import { printJson, printTable } from '../output';
import { withSopClient } from '../with-client';

const PROJECT = ['-C, --project <dir>', 'project root (sops/, sop.config.yaml)', '.'] as const;

export function registerTriggers(program: Command): void {
  const triggers = program
    .command('triggers')
    .description(
      'schedules, webhooks, events and polling sensors that start SOPs (the `triggers:` of each SOP)',
    );

  triggers
    .command('sync')
    .description('create, update and delete the Schedules and sensors the catalog declares (idempotent)')
    .option(...PROJECT)
    .option('--json', 'machine-readable output')
    .action(syncCommand);

  triggers
    .command('list')
    .description('every trigger: SOP, kind, state, last and next fire, errors')
    .option(...PROJECT)
    .option('--json', 'machine-readable output')
    .action(listCommand);

  triggers
    .command('show')
    .description('one trigger: its declaration, state, fires and the last run it started')
    .argument('<trigger>', 'SOP/TRIGGER (or SOP.TRIGGER)')
    .option(...PROJECT)
    .option('--json', 'machine-readable output')
    .action(showCommand);

  triggers
    .command('pause')
    .description("pause a trigger's Schedule or sensor (no runs until unpause)")
    .argument('<trigger>', 'SOP/TRIGGER')
    .option('--note <text>', 'why (shown by list and show)', 'paused with sop triggers pause')
    .action(async (ref: string, opts: { note: string }) => {
      await onSchedule(ref, 'pause', (h) => h.pause(opts.note), { paused: true, note: opts.note });
    });

  triggers
    .command('unpause')
    .description("resume a paused trigger's Schedule or sensor")
    .argument('<trigger>', 'SOP/TRIGGER')
    .action(async (ref: string) => {
      await onSchedule(ref, 'unpause', (h) => h.unpause('unpaused with sop triggers unpause'), {
        paused: false,
      });
    });

  triggers
    .command('trigger-now')
    .description(
      "a schedule trigger's Schedule starts one run now; a poll trigger's sensor polls once now (also when paused); prints the runs started",
    )
    .argument('<trigger>', 'SOP/TRIGGER')
    .option(
      '--overlap <policy>',
      `schedule triggers: what to do when a run is going (${ScheduleOverlap.options.join(', ')}; default: allow_all)`,
      'allow_all',
    )
    .option('--json', 'machine-readable output')
    .action(async (ref: string, opts: { overlap: string; json?: boolean }) => {
      const overlap = overlapPolicy(opts.overlap);
      await triggerNow(ref, overlap, opts.json === true);
    });

  triggers
    .command('backfill')
    .description("start the runs a trigger's Schedule would have started between two times")
    .argument('<trigger>', 'SOP/TRIGGER')
    .requiredOption('--from <time>', 'start, ISO 8601 (e.g. 2026-12-01T00:00:00Z)')
    .requiredOption('--to <time>', 'end, ISO 8601')
    .option('--overlap <policy>', `(${ScheduleOverlap.options.join(', ')}; default: allow_all)`, 'allow_all')
    .action(async (ref: string, opts: { from: string; to: string; overlap: string }) => {
      const start = isoTime(opts.from, '--from');
      const end = isoTime(opts.to, '--to');
      if (end <= start) throw new CliError('--to must be later than --from', ExitCode.usage);
      const overlap = overlapPolicy(opts.overlap);
      await onSchedule(ref, 'backfill', (h) => h.backfill({ start, end, overlap }));
    });
}

/** `sop triggers sync`: the catalog's Schedules and sensors made so on the server, one line each. */
async function syncCommand(opts: { project: string; json?: boolean }): Promise<void> {
  const catalog = new Catalog({ projectDir: opts.project });
  await withSopClient(
    async (client) => {
      let lines: Awaited<ReturnType<typeof syncTriggers>>;
      try {
        lines = await syncTriggers(client.client, catalog, client.target.taskQueue);
      } catch (err) {
        if (!(err instanceof TriggersInvalidError)) throw err;
        for (const d of err.diagnostics) process.stderr.write(`${formatDiagnostic(d)}\n`);
        throw new CliError(
          err.message,
          ExitCode.failure,
          'fix the errors above (`sop validate` shows them all)',
        );
      }
      if (opts.json) return printJson(lines);
      if (lines.length === 0)
        return void process.stdout.write('no schedules or sensors declared, none on the server\n');
      printTable(
        ['TRIGGER', 'KIND', 'ACTION', 'ID', 'DETAIL'],
        lines.map((l) => [l.trigger, l.kind, l.action, l.id, l.detail ?? '']),
      );
      const failed = lines.filter((l) => l.action === 'failed');
      if (failed.length > 0)
        throw new CliError(`${failed.length} trigger(s) could not be synced`, ExitCode.failure);
    },
    { startServer: true },
  );
}

/** `sop triggers list`: every trigger with its state and fires. */
async function listCommand(opts: { project: string; json?: boolean }): Promise<void> {
  const catalog = new Catalog({ projectDir: opts.project });
  await withSopClient(async (client) => {
    const rows = await triggerRows(client.client, catalog, client.target.taskQueue);
    if (opts.json) return printJson(rows);
    if (rows.length === 0) return void process.stdout.write('no triggers declared\n');
    printTable(
      ['TRIGGER', 'SOP', 'KIND', 'STATE', 'LAST FIRE', 'NEXT FIRE', 'ERRORS'],
      rows.map((r) => [
        r.trigger,
        r.sop,
        r.kind,
        r.state,
        time(r.lastFire),
        time(r.nextFire),
        r.errors.join('; ') || '-',
      ]),
    );
  });
}

/** `sop triggers show`: one trigger, its declaration and recent fires. */
async function showCommand(ref: string, opts: { project: string; json?: boolean }): Promise<void> {
  const catalog = new Catalog({ projectDir: opts.project });
  const { sop, trigger } = triggerRef(ref);
  await withSopClient(async (client) => {
    const rows = await triggerRows(client.client, catalog, client.target.taskQueue);
    const row = rows.find((r) => r.trigger === `${sop}.${trigger}`);
    if (!row) throw notDeclared(sop, trigger, rows);
    const declared = declaredTriggers(catalog).triggers.find(
      (t) => t.spec.sop === sop && t.spec.name === trigger,
    );
    let recent: Array<{ scheduledAt: string; takenAt: string; workflowId: string }> | undefined;
    if (row.kind === 'schedule' && row.state !== 'not synced') {
      const d = await client.client.schedule.getHandle(scheduleIdOf(sop, trigger)).describe();
      recent = d.info.recentActions.map((a) => ({
        scheduledAt: a.scheduledAt.toISOString(),
        takenAt: a.takenAt.toISOString(),
        workflowId: a.action.workflow.workflowId,
      }));
    }
    const view = { ...row, declaration: declared?.spec, ...(recent ? { recentFires: recent } : {}) };
    if (opts.json) return printJson(view);
    printShow(view);
  });
}

type ScheduleHandle = ReturnType<import('@temporalio/client').ScheduleClient['getHandle']>;

/** `fn` on the trigger's Schedule; with `sensor`, a running sensor of that name is paused or unpaused instead. */
async function onSchedule(
  ref: string,
  verb: string,
  fn: (handle: ScheduleHandle) => Promise<void>,
  sensor?: SensorPause,
): Promise<void> {
  const { sop, trigger } = triggerRef(ref);
  const id = scheduleIdOf(sop, trigger);
  await withSopClient(async (client) => {
    const sensorId = sensorIdOf(sop, trigger);
    if (sensor && (await describeSensor(client.client, sensorId))?.status.name === 'RUNNING') {
      const result = await setSensorPaused(client.client, sensorId, sensor);
      if (!result.taken && !result.noWorker)
        throw new CliError(`${verb} ${sensorId}: ${result.why}`, ExitCode.failure);
      const pending = result.taken
        ? ''
        : ` (signal recorded; ${result.why}: it takes effect when a worker runs the sensor)`;
      return void process.stdout.write(`${verb}: ${sensorId}${pending}\n`);
    }
    try {
      await fn(client.client.schedule.getHandle(id));
    } catch (err) {
      if (err instanceof ScheduleNotFoundError) {
        throw new CliError(
          sensor
            ? `no Schedule or running sensor ${sop}/${trigger} on the server: ${verb} works on schedule and poll triggers after \`sop triggers sync\``
            : `no Schedule ${id} on the server: ${verb} works on schedule triggers after \`sop triggers sync\``,
          ExitCode.notFound,
          'see `sop triggers list`',
        );
      }
      throw err;
    }
    process.stdout.write(`${verb}: ${id}\n`);
  });
}

/** trigger-now: a running sensor polls once; otherwise the Schedule fires. Prints the runs started. */
async function triggerNow(ref: string, overlap: ScheduleOverlapPolicy, json: boolean): Promise<void> {
  const { sop, trigger } = triggerRef(ref);
  await withSopClient(async (client) => {
    const sensorId = sensorIdOf(sop, trigger);
    const sensor = await describeSensor(client.client, sensorId);
    if (sensor?.status.name === 'RUNNING') {
      const where = { namespace: client.target.namespace, taskQueue: sensor.taskQueue };
      const polled = await pollSensorNow(client.client, sensorId, where);
      if ('problem' in polled)
        throw new CliError(`trigger-now ${sensorId}: ${polled.problem}`, ExitCode.failure);
      if (json) return printJson({ trigger: `${sop}.${trigger}`, kind: 'poll', id: sensorId, ...polled });
      const runs =
        polled.started.length > 0 ? `started ${polled.started.join(', ')}` : 'no new items, no run started';
      process.stdout.write(`polled ${sensorId}: ${runs}\n`);
      if (polled.error) process.stdout.write(`poll problem: ${polled.error}\n`);
      return;
    }
    const id = scheduleIdOf(sop, trigger);
    let fired: Awaited<ReturnType<typeof fireScheduleNow>>;
    try {
      fired = await fireScheduleNow(client.client, id, overlap);
    } catch (err) {
      if (!(err instanceof ScheduleNotFoundError)) throw err;
      throw new CliError(
        `no Schedule or running sensor ${sop}/${trigger} on the server: trigger-now fires a schedule trigger, or makes a poll trigger poll once, after \`sop triggers sync\` made it (webhook and event triggers start runs when they are called)`,
        ExitCode.notFound,
        'see `sop triggers list`',
      );
    }
    if (json) return printJson({ trigger: `${sop}.${trigger}`, kind: 'schedule', id, ...fired });
    if ('started' in fired) return void process.stdout.write(`started ${fired.started}\n`);
    throw new CliError(
      `trigger-now ${id}: ${'skipped' in fired ? fired.skipped : fired.unknown}`,
      ExitCode.failure,
    );
  });
}

/** `SOP/TRIGGER` or `SOP.TRIGGER`. */
function triggerRef(ref: string): { sop: string; trigger: string } {
  const match = /^([a-z][a-z0-9_-]*)[/.]([a-z][a-z0-9_-]*)$/.exec(ref);
  if (!match)
    throw new CliError(
      `expected SOP/TRIGGER (e.g. nightly/sweep), got "${ref}"`,
      ExitCode.usage,
      'see `sop triggers list`',
    );
  return { sop: match[1], trigger: match[2] };
}

function overlapPolicy(value: string): ScheduleOverlapPolicy {
  const parsed = ScheduleOverlap.safeParse(value);
  if (!parsed.success)
    throw new CliError(`--overlap must be one of ${ScheduleOverlap.options.join(', ')}`, ExitCode.usage);
  return parsed.data.toUpperCase() as ScheduleOverlapPolicy;
}

function isoTime(value: string, option: string): Date {
  const date = new Date(value);
  if (Number.isNaN(date.getTime()))
    throw new CliError(
      `${option} must be an ISO 8601 time such as 2026-12-01T00:00:00Z, got "${value}"`,
      ExitCode.usage,
    );
  return date;
}

function notDeclared(sop: string, trigger: string, rows: TriggerRow[]): CliError {
  return new CliError(
    `no trigger ${sop}/${trigger} in the catalog or on the server`,
    ExitCode.notFound,
    `known: ${rows.map((r) => r.trigger.replace('.', '/')).join(', ') || 'none'}`,
  );
}

const time = (iso: string | undefined) => (iso ? iso.slice(0, 19).replace('T', ' ') : '-');

function printShow(
  view: TriggerRow & {
    declaration?: TriggerSpec;
    recentFires?: Array<{ takenAt: string; workflowId: string }>;
  },
): void {
  const lines = [
    `trigger   ${view.trigger}`,
    `kind      ${view.kind}`,
    `spec      ${view.declaration ? specLine(view.declaration) : '- (not declared in the catalog)'}`,
    `state     ${view.state}${view.inSync ? '' : ' (out of sync with the catalog)'}`,
    `id        ${view.id ?? '-'}`,
    `last fire ${time(view.lastFire)}`,
    `next fire ${time(view.nextFire)}`,
    `last run  ${view.lastRun ?? '-'}`,
    ...(view.recentFires?.length
      ? ['recent fires', ...view.recentFires.map((f) => `  ${time(f.takenAt)}  ${f.workflowId}`)]
      : []),
    ...(view.errors.length > 0 ? ['errors', ...view.errors.map((e) => `  ${e}`)] : []),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

/** The trigger's source in one line, as declared (e.g. `every 5s, overlap skip`). */
function specLine(spec: TriggerSpec): string {
  switch (spec.kind) {
    case 'schedule': {
      const s = spec.schedule;
      return [
        ...(s.everyMs !== undefined ? [`every ${duration(s.everyMs)}`] : []),
        ...s.cron.map((c) => `cron "${c}"`),
        ...(s.timezone ? [`timezone ${s.timezone}`] : []),
        `overlap ${s.overlap}`,
        ...(s.jitterMs !== undefined ? [`jitter ${duration(s.jitterMs)}`] : []),
      ].join(', ');
    }
    case 'poll': {
      const p = spec.poll;
      return [
        p.command !== undefined ? `command "${p.command}"` : `GET ${p.http?.url}`,
        `every ${duration(p.everyMs)}`,
        `item_id ${p.itemId}`,
        ...(p.watermark ? [`watermark ${p.watermark}`] : []),
        ...(p.items ? [`items ${p.items}`] : []),
      ].join(', ');
    }
    case 'webhook':
      return `POST /hooks/${spec.webhook.hook}, signature ${spec.webhook.signature}, secret in ${spec.webhook.secretEnv}`;
    case 'event':
      return `on event ${spec.event}`;
  }
}

function duration(ms: number): string {
  for (const [unit, size] of [
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1_000],
  ] as const)
    if (ms % size === 0) return `${ms / size}${unit}`;
  return `${ms}ms`;
}
