import type { Command } from 'commander';
import { SopClient } from '../../client';
import { consoleSettings } from '../../console/settings';
import { loadHooks } from '../../serve/hooks';
import { type AnsweredDelivery, buildIngress, DEFAULT_BODY_LIMIT } from '../../serve/ingress';
import { createReviewRouter } from '../../serve/review-router';
import { clientIdentity, lazyClient } from '../../temporal/connect';
import { CliError, ExitCode } from '../errors';

/** How long one run start may take before the delivery is answered 503 (the sender retries). */
const START_DEADLINE_MS = 5_000;
/** How many answered deliveries the console lists. */
const RECENT_DELIVERIES = 50;

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description(
      "serve the catalog's webhooks (POST /hooks/<name>, signed: starts the hook's SOP once per delivery), the operator console (/console) and GET /healthz",
    )
    .option('--port <port>', 'TCP port (default: SOP_SERVE_PORT or 8788)')
    .option('--host <address>', 'address to listen on (default 127.0.0.1; 0.0.0.0 for every interface)')
    .option(
      '--project <dir>',
      'the project whose sops/ declare the webhooks (default: the current directory)',
    )
    .option('--body-limit <bytes>', `largest body accepted (default ${DEFAULT_BODY_LIMIT})`)
    .action(async (opts: { port?: string; host?: string; project?: string; bodyLimit?: string }) => {
      const port = Number(opts.port ?? process.env.SOP_SERVE_PORT ?? 8788);
      if (!Number.isInteger(port) || port < 0 || port > 65_535)
        throw new CliError(
          `--port / SOP_SERVE_PORT: "${opts.port ?? process.env.SOP_SERVE_PORT}" is not a TCP port`,
          ExitCode.usage,
        );
      const bodyLimit = opts.bodyLimit === undefined ? DEFAULT_BODY_LIMIT : Number(opts.bodyLimit);
      if (!Number.isInteger(bodyLimit) || bodyLimit <= 0)
        throw new CliError(
          `--body-limit: "${opts.bodyLimit}" is not a positive number of bytes`,
          ExitCode.usage,
        );
      const host = opts.host ?? '127.0.0.1';
      let settings: ReturnType<typeof consoleSettings>;
      try {
        settings = consoleSettings(process.env, host, clientIdentity());
      } catch (err) {
        throw new CliError((err as Error).message, ExitCode.usage);
      }
      const log = (line: string) => process.stderr.write(`${line}\n`);
      const { hooks, problems, broken } = loadHooks({ projectDir: opts.project ?? process.cwd() });
      for (const p of [...problems, ...broken]) log(`warning: ${p}`);
      if (![...hooks.values()].some((hook) => hook.triggers.length > 0))
        log('warning: no SOP in the catalog declares a webhook trigger; only review events reach runs');
      for (const hook of hooks.values()) {
        if (!process.env[hook.spec.secretEnv] && hook.triggers.length > 0)
          log(
            `warning: webhook ${hook.name}: ${hook.spec.secretEnv} is not set; its deliveries are refused until it is`,
          );
      }
      const { client, target } = lazyClient();
      const sop = new SopClient(client, target);
      const routeReview = createReviewRouter(sop, client);
      const deliveries: AnsweredDelivery[] = [];
      const app = buildIngress({
        hooks,
        log,
        bodyLimit,
        routeReview: (delivery) =>
          client.connection.withDeadline(Date.now() + START_DEADLINE_MS, () => routeReview(delivery)),
        answered: (d) => {
          deliveries.push(d);
          if (deliveries.length > RECENT_DELIVERIES) deliveries.shift();
        },
        start: (request, memo) =>
          client.connection.withDeadline(Date.now() + START_DEADLINE_MS, () =>
            sop.startOnce(request, { memo }),
          ),
      });
      // loaded here, not with every `sop` command (its cookie, CSRF and markdown modules)
      const { consolePlugin } = await import('../../console/plugin.js');
      await app.register(consolePlugin, {
        prefix: '/console',
        sop,
        ...settings,
        projectDir: opts.project ?? process.cwd(),
        hooks: [...hooks.keys()],
        deliveries: () => deliveries,
        log,
      });
      const address = await app.listen({ port, host });
      log(
        `sop serve listening on ${address} (console: ${address}/console${settings.access.open ? ` open to ${settings.access.open.name}, loopback only` : ''}; hooks: ${[...hooks.keys()].map((h) => `/hooks/${h}`).join(', ') || 'none'}; Temporal ${target.address}); Ctrl-C to stop`,
      );
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      await app.close();
      await client.connection.close();
      log('sop serve stopped');
    });
}
