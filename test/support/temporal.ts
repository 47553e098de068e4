import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import type { NativeConnection } from '@temporalio/worker';
import type { ActivityDeps } from '../../src/activities';
import { connectClient, connectWorkerConnection } from '../../src/temporal/connect';
import { resolveTemporalTarget, type TemporalTarget } from '../../src/temporal/target';
import { createSopWorker } from '../../src/worker/create-worker';
import { expectAgreementOnQueue } from './agreement';

/** The dev server the global setup started (its ports are in the environment). */
export function testTarget(): TemporalTarget {
  return resolveTemporalTarget(process.env);
}

export interface TemporalTestContext {
  client: Client;
  connection: NativeConnection;
  target: TemporalTarget;
  close(): Promise<void>;
}

export async function connectForTest(target: TemporalTarget = testTarget()): Promise<TemporalTestContext> {
  const { client } = await connectClient({ target, startDevServer: false });
  const { connection } = await connectWorkerConnection({ target, startDevServer: false });
  return {
    client,
    connection,
    target,
    close: async () => {
      await connection.close();
      await client.connection.close();
    },
  };
}

/**
 * Runs `fn` while a worker polls a task queue of its own, so tests never see each other's tasks. When `fn`
 * is done, every run the queue ran to its end must have records that agree (test/support/agreement.ts),
 * checked while the worker still answers queries.
 */
export async function withWorker<T>(
  ctx: TemporalTestContext,
  fn: (taskQueue: string) => Promise<T>,
  activities?: Partial<ActivityDeps>,
): Promise<T> {
  const taskQueue = `test-${randomUUID()}`;
  const worker = await createSopWorker({
    connection: ctx.connection,
    target: ctx.target,
    taskQueue,
    activities,
  });
  return worker.runUntil(async () => {
    const result = await fn(taskQueue);
    await expectAgreementOnQueue(ctx.client, taskQueue, ctx.target);
    return result;
  });
}

/** Visibility is eventually consistent: poll until `check` passes or the deadline is reached. */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
