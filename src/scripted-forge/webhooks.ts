// The scripted forge as a GitHub App's webhook source: when a test or a person creates an issue, labels one,
// comments, or reviews a pull request through its API, it posts GitHub's delivery for it (X-GitHub-Event,
// X-GitHub-Delivery, X-Hub-Signature-256 over the body with the App's webhook secret) to the configured URL,
// such as `sop serve`'s POST /hooks/github, after answering the call (GitHub delivers asynchronously). Every
// delivery and its answer is recorded. Payloads carry the fields GitHub's carry that the runtime reads.
import { randomUUID } from 'node:crypto';
import type { Identity } from './auth';
import { repository } from './shapes';
import { type IssueState, type RepoState, resolveCommit } from './state';

/** What a payload is built from: the call's repository, caller and base URL (a route's context has them). */
interface EventContext {
  base: string;
  repo: RepoState;
  identity: Identity;
}

export interface WebhookTarget {
  url: string;
  secret: string;
}

export interface WebhookSent {
  event: string;
  action?: string;
  delivery: string;
  /** the receiver's HTTP status, or `error` with the reason */
  status: number | 'error';
  answer?: unknown;
}

export class WebhookSender {
  readonly sent: WebhookSent[] = [];
  private pending: Promise<void> = Promise.resolve();

  constructor(private target?: WebhookTarget) {}

  /** where to deliver from now on (undefined: nowhere) */
  setTarget(target: WebhookTarget | undefined): void {
    this.target = target;
  }

  /** queues the delivery; deliveries go out one after another, in the order their events happened */
  send(event: string, payload: Record<string, unknown>): void {
    const target = this.target;
    if (!target) return;
    this.pending = this.pending.then(() => this.deliver(target, event, payload));
  }

  /** resolves when every queued delivery has been answered */
  settled(): Promise<void> {
    return this.pending;
  }

  private async deliver(target: WebhookTarget, event: string, payload: Record<string, unknown>) {
    const body = JSON.stringify(payload);
    const delivery = randomUUID();
    const record: WebhookSent = {
      event,
      delivery,
      status: 'error',
      ...(typeof payload.action === 'string' ? { action: payload.action } : {}),
    };
    this.sent.push(record);
    try {
      // exports only an `import` condition: require() cannot load it (as in serve/signature.ts)
      const { sign } = await import('@octokit/webhooks-methods');
      const res = await fetch(target.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'GitHub-Hookshot/scripted',
          'x-github-event': event,
          'x-github-delivery': delivery,
          'x-hub-signature-256': await sign(target.secret, body),
        },
        body,
      });
      record.status = res.status;
      const text = await res.text();
      try {
        record.answer = JSON.parse(text);
      } catch {
        record.answer = text;
      }
    } catch (err) {
      record.answer = (err as Error).message;
    }
  }
}

const user = (login: string) => ({ login, id: 0, type: login.endsWith('[bot]') ? 'Bot' : 'User' });

/** Who the repository's people are, as GitHub's author_association says: a writer is a collaborator. */
export const associationOf = (ctx: EventContext) =>
  ctx.identity.kind === 'token' && !ctx.identity.write ? 'CONTRIBUTOR' : 'COLLABORATOR';

/** What every delivery about this repository carries: the repository (clone_url: the git remote) and sender. */
export function common(ctx: EventContext) {
  const repo = repository(ctx.base, ctx.repo.owner, ctx.repo.name, ctx.repo.id);
  return {
    repository: { ...repo, clone_url: `${ctx.base}/${ctx.repo.owner}/${ctx.repo.name}.git` },
    sender: user(ctx.identity.login),
  };
}

/** An issue (or a pull request's issue) as webhook payloads carry it. */
export function issuePayload(ctx: EventContext, issue: IssueState) {
  const html = `${ctx.base}/${ctx.repo.owner}/${ctx.repo.name}/${issue.pull ? 'pull' : 'issues'}/${issue.number}`;
  return {
    number: issue.number,
    id: issue.id,
    title: issue.title,
    body: issue.body,
    state: issue.pull?.state ?? 'open',
    html_url: html,
    user: user(issue.user),
    labels: issue.labels.map((name) => ({ name, id: ctx.repo.labelIds.get(name) ?? 0 })),
    ...(issue.pull
      ? {
          pull_request: {
            url: `${ctx.base}/repos/${ctx.repo.owner}/${ctx.repo.name}/pulls/${issue.number}`,
            html_url: html,
          },
        }
      : {}),
  };
}

/** A pull request as review payloads carry it: number, head branch and commit, base, body. */
export function pullPayload(ctx: EventContext, issue: IssueState) {
  const pull = issue.pull!;
  return {
    number: issue.number,
    id: issue.id,
    title: issue.title,
    body: issue.body,
    state: pull.state,
    html_url: `${ctx.base}/${ctx.repo.owner}/${ctx.repo.name}/pull/${issue.number}`,
    user: user(pull.createdBy),
    head: { ref: pull.head, sha: resolveCommit(ctx.repo, pull.head) ?? null },
    base: { ref: pull.base, sha: resolveCommit(ctx.repo, pull.base) ?? null },
  };
}
