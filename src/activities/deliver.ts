// The delivery activity: one delivery of one run written to the forge by the worker, with the worker's
// credential, keyed by the run's workflow id and the delivery's name, so a retried activity, a replayed
// workflow, a worker killed after the forge answered, or a rerun of the task finds its earlier write and
// updates it. A rate limit becomes the same non-retryable SopRateLimited failure a model's rate limit is
// (the workflow parks the run until the reset); a refusal (401/403/404/422) fails the delivery with the
// forge's own message; a forge that fails or cannot be reached is retried by Temporal.

import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { envValue } from '../config/env';
import { ForgeCredentialError, ForgeError, ForgeRateLimitError } from '../forge/errors';
import { deliveryKey, type Forge, type RepoRef } from '../forge/forge';
import { parseRepo, repoOfUrl, workerForge } from '../forge/worker-forge';
import { RATE_LIMITED, type RateLimitDetails } from '../shapes/contract';
import {
  DELIVERY_REFUSED,
  type DeliveryRecord,
  type DeliveryRequest,
  type DeliveryResult,
} from '../shapes/deliveries';
import { renderText } from '../shapes/render-text';
import { resolveTemporalTarget, workflowUiLink } from '../temporal/target';
import { evidenceDigest, renderRecord } from './delivery-record';

export interface DeliverActivityDeps {
  /** where the forge credential is read (SOP_GITHUB_*); default: the worker's environment */
  forgeEnv?: NodeJS.ProcessEnv;
}

export type DeliverActivities = ReturnType<typeof createDeliverActivities>;

export function createDeliverActivities(deps: DeliverActivityDeps = {}) {
  return {
    async deliver(request: DeliveryRequest): Promise<DeliveryResult> {
      const env = deps.forgeEnv ?? process.env;
      // a worker that dies mid-delivery is noticed by its silence (the workflow moves the run and delivers again)
      const context = Context.current();
      const beat = setInterval(() => context.heartbeat(), 1_000);
      try {
        return await perform(workerForge(env), request, env);
      } catch (err) {
        throw asFailure(err, request);
      } finally {
        clearInterval(beat);
      }
    },
  };
}

async function perform(forge: Forge, req: DeliveryRequest, env: NodeJS.ProcessEnv): Promise<DeliveryResult> {
  const { spec } = req;
  const action = spec.action;
  const key = deliveryKey(req.workflowId, spec.name);
  const repo = repoOf(req);
  const fullName = `${repo.owner}/${repo.repo}`;
  const render = (text: string) => renderText(text, { ...req.scope, pull_request: req.pullRequest ?? {} });
  const done = (rest: Omit<DeliveryRecord, 'name' | 'at' | 'kind'>): DeliveryRecord => ({
    name: spec.name,
    at: req.at,
    kind: action.kind,
    ...rest,
  });
  switch (action.kind) {
    case 'pull_request': {
      const branch =
        req.branch ?? refuse(req, 'a pull request needs a repo.url run (its run branch is the head)');
      const link = workflowUiLink(resolveTemporalTarget(env), req.workflowId);
      const digest = evidenceDigest(req.runFolder, envValue('SOP_EVIDENCE_SIGNING_KEY_FILE', env), {
        sop: req.sop,
        task: req.taskId,
      });
      const own = render(action.body).trim();
      const record = renderRecord(req.record, { sop: req.sop, taskId: req.taskId, link }, digest);
      const pr = await forge.ensurePullRequest(repo, {
        key,
        head: branch,
        base: render(action.base ?? req.baseRef ?? 'main'),
        title: render(action.title),
        body: own ? `${own}\n\n${record}` : record,
        draft: action.draft,
        reviewers: action.reviewers,
      });
      if (action.labels.length > 0) await forge.addLabels(repo, pr.number, action.labels);
      return {
        record: done({ action: pr.action, target: `${fullName}#${pr.number}`, url: pr.url }),
        pullRequest: { number: pr.number, url: pr.url, repo: fullName },
      };
    }
    case 'comment': {
      const issue = issueOf(req, action.issue, render);
      if (typeof issue === 'string') return { record: done({ action: 'skipped', error: issue }) };
      const c = await forge.upsertComment(repo, { key, issue, body: render(action.body) });
      return { record: done({ action: c.action, target: `${fullName}#${issue}`, url: c.url }) };
    }
    case 'labels': {
      const issue = issueOf(req, action.issue, render);
      if (typeof issue === 'string') return { record: done({ action: 'skipped', error: issue }) };
      if (action.add.length > 0) await forge.addLabels(repo, issue, action.add);
      const now = await forge.removeLabels(repo, issue, action.remove);
      return {
        record: done({ action: 'updated', target: `${fullName}#${issue}: ${now.join(', ') || 'no labels'}` }),
      };
    }
    case 'status': {
      const sha =
        req.head ?? refuse(req, 'a commit status needs a repo.url run (its run branch head is the commit)');
      const state = req.at === 'end' ? 'success' : req.at === 'failure' ? 'failure' : 'pending';
      const description = render(
        action.description ?? `${req.sop}: ${req.at === 'end' ? 'completed' : req.at}`,
      );
      const targetUrl = workflowUiLink(resolveTemporalTarget(env), req.workflowId);
      if (action.check) {
        const c = await forge.ensureCheckRun(repo, {
          key,
          sha,
          name: action.context,
          ...(state === 'pending' ? {} : { conclusion: state }),
          title: description,
          summary: renderRecord(
            req.record,
            { sop: req.sop, taskId: req.taskId, link: targetUrl },
            evidenceDigest(req.runFolder),
          ),
          ...(targetUrl ? { detailsUrl: targetUrl } : {}),
        });
        return {
          record: done({ action: c.action, target: `${fullName}@${sha.slice(0, 12)} ${action.context}` }),
        };
      }
      const s = await forge.setStatus(repo, {
        sha,
        context: action.context,
        state,
        description: description.slice(0, 140),
        ...(targetUrl ? { targetUrl } : {}),
      });
      return {
        record: done({ action: s.action, target: `${fullName}@${sha.slice(0, 12)} ${action.context}` }),
      };
    }
  }
}

function repoOf(req: DeliveryRequest): RepoRef {
  if (req.repo) {
    const name = renderText(req.repo, req.scope);
    return parseRepo(name) ?? refuse(req, `deliver.repo: "${name}" is not owner/name`);
  }
  const fromRemote = req.remote ? repoOfUrl(req.remote) : undefined;
  return (
    fromRemote ??
    refuse(
      req,
      req.remote
        ? `deliver.repo is not set and repo.url ${req.remote} names no owner/name: set deliver.repo`
        : 'deliver.repo is not set and the run has no repo.url: set deliver.repo: owner/name',
    )
  );
}

/** The issue number a template gives, or why there is none (the delivery is skipped and says so). */
function issueOf(req: DeliveryRequest, issue: string, render: (t: string) => string): number | string {
  if (issue === 'pull_request')
    return req.pullRequest?.number ?? 'the run has no pull request yet (deliver.pull_request delivers it)';
  const text = render(issue).trim();
  const n = Number(text.replace(/^#/, ''));
  return Number.isSafeInteger(n) && n > 0 ? n : `issue "${issue}" gave "${text}", not an issue number`;
}

function refuse(req: DeliveryRequest, message: string): never {
  throw ApplicationFailure.create({
    type: DELIVERY_REFUSED,
    message: `delivery ${req.spec.name}: ${message}`,
    nonRetryable: true,
  });
}

/** A rate limit parks the run; a refusal fails the delivery with the forge's words; the rest is retried. */
function asFailure(err: unknown, req: DeliveryRequest): unknown {
  if (err instanceof ApplicationFailure) return err;
  if (err instanceof ForgeRateLimitError) {
    const details: RateLimitDetails = { resetAtMs: err.resetAtMs, message: err.message };
    return ApplicationFailure.create({
      type: RATE_LIMITED,
      message: err.message,
      nonRetryable: true,
      details: [details],
    });
  }
  if (err instanceof ForgeCredentialError || (err instanceof ForgeError && !err.retryable)) {
    return ApplicationFailure.create({
      type: DELIVERY_REFUSED,
      message: `delivery ${req.spec.name}: ${err.message}`,
      nonRetryable: true,
    });
  }
  return err;
}
