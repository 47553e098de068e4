// The SOP's `deliver:`: what the runtime writes to the forge for a run (a pull request from the run branch,
// comments, labels, a commit status or check run) and when, plus what an agent step may ask for in its
// outcome. The zod schema is the source of truth of the format; deliverPlan turns it into the plan's plain
// data (model/deliveries.ts); checkDeliver adds what a schema cannot say (routes that exist, templates).

import { z } from 'zod';
import {
  type AgentAllowance,
  type DeliverPlan,
  type DeliveryPoint,
  type DeliverySpec,
  PULL_REQUEST_DELIVERY,
} from '../shapes/deliveries';
import type { DiagnosticCode } from '../shapes/diagnostics';
import { NAME_MESSAGE, NAME_PATTERN } from '../shapes/names';
import type { KeyPath } from './yaml-source';

const Name = z.string().regex(NAME_PATTERN, NAME_MESSAGE);
/** `end`, `failure` or `STEP.ROUTE` */
const Point = z
  .string()
  .regex(/^(end|failure|[\w-]+\.[\w-]+)$/, 'must be end, failure or STEP.ROUTE (a route of a step)');
const On = z.union([Point, z.array(Point).min(1)]);
const Label = z.string().min(1).max(50);
/** an issue or pull request number (a template such as "{{ input.issue }}"), or `pull_request` */
const IssueRef = z.union([z.string().min(1), z.number().int().positive()]);

const DeliverPullRequest = z.strictObject({
  title: z.string().min(1),
  body: z.string().optional(),
  base: z.string().min(1).optional(),
  draft: z.boolean().optional(),
  labels: z.array(Label).optional(),
  reviewers: z.array(z.string().min(1)).optional(),
  on: On.optional(),
});

const DeliverComment = z.strictObject({ issue: IssueRef, body: z.string().min(1), on: On.optional() });

const DeliverLabels = z.strictObject({
  issue: IssueRef,
  add: z.array(Label).optional(),
  remove: z.array(Label).optional(),
  on: On.optional(),
});

const DeliverStatus = z.strictObject({
  context: z.string().min(1).max(100),
  description: z.string().max(140).optional(),
  /** a check run instead of a commit status (GitHub: an App only) */
  check: z.boolean().optional(),
  on: On.optional(),
});

export const Deliver = z.strictObject({
  /** `owner/name` of the repository (a template); default: the run's repo.url */
  repo: z.string().min(1).optional(),
  /** the pull request from the run branch; its body ends with the run's verified record */
  pull_request: DeliverPullRequest.optional(),
  comments: z.record(Name, DeliverComment).optional(),
  labels: z.record(Name, DeliverLabels).optional(),
  statuses: z.record(Name, DeliverStatus).optional(),
  /** what agent steps may ask for in their outcome, with a maximum per step and the allowed values */
  agent: z
    .strictObject({
      comments: z.strictObject({ issue: IssueRef, max: z.number().int().min(1).max(20) }).optional(),
      labels: z
        .strictObject({
          issue: IssueRef,
          allowed: z.array(Label).min(1),
          max: z.number().int().min(1).max(50).optional(),
        })
        .optional(),
    })
    .optional(),
});
export type SopDeliver = z.infer<typeof Deliver>;

const PR_NAME = PULL_REQUEST_DELIVERY;

function points(on: string | string[] | undefined, fallback: DeliveryPoint[]): DeliveryPoint[] {
  if (on === undefined) return fallback;
  return (Array.isArray(on) ? on : [on]).map((p) => {
    if (p === 'end' || p === 'failure') return { kind: p };
    const dot = p.indexOf('.');
    return { kind: 'route', step: p.slice(0, dot), route: p.slice(dot + 1) };
  });
}

const END: DeliveryPoint[] = [{ kind: 'end' }];
const issueText = (issue: string | number) => String(issue);

/** The plan's deliveries: the pull request first, then comments, labels and statuses by name. */
export function deliverPlan(deliver: SopDeliver | undefined): DeliverPlan | undefined {
  if (!deliver) return undefined;
  const deliveries: DeliverySpec[] = [];
  const pr = deliver.pull_request;
  if (pr) {
    deliveries.push({
      name: PR_NAME,
      on: points(pr.on, END),
      action: {
        kind: 'pull_request',
        title: pr.title,
        body: pr.body ?? '',
        ...(pr.base ? { base: pr.base } : {}),
        draft: pr.draft ?? false,
        labels: pr.labels ?? [],
        reviewers: pr.reviewers ?? [],
      },
    });
  }
  for (const [name, c] of Object.entries(deliver.comments ?? {}))
    deliveries.push({
      name,
      on: points(c.on, END),
      action: { kind: 'comment', issue: issueText(c.issue), body: c.body },
    });
  for (const [name, l] of Object.entries(deliver.labels ?? {}))
    deliveries.push({
      name,
      on: points(l.on, END),
      action: { kind: 'labels', issue: issueText(l.issue), add: l.add ?? [], remove: l.remove ?? [] },
    });
  for (const [name, s] of Object.entries(deliver.statuses ?? {}))
    deliveries.push({
      name,
      on: points(s.on, [{ kind: 'end' }, { kind: 'failure' }]),
      action: {
        kind: 'status',
        context: s.context,
        ...(s.description ? { description: s.description } : {}),
        check: s.check ?? false,
      },
    });
  const agent: AgentAllowance = {};
  const a = deliver.agent;
  if (a?.comments) agent.comments = { issue: issueText(a.comments.issue), max: a.comments.max };
  if (a?.labels)
    agent.labels = {
      issue: issueText(a.labels.issue),
      allowed: a.labels.allowed,
      max: a.labels.max ?? a.labels.allowed.length,
    };
  return {
    ...(deliver.repo ? { repo: deliver.repo } : {}),
    deliveries,
    ...(a ? { agent } : {}),
  };
}

type Report = (code: DiagnosticCode, message: string, at: KeyPath, key?: boolean, hint?: string) => void;

/**
 * What the schema cannot check: `on:` routes that exist, names used once across kinds, labels added and
 * removed at once, and the templates (checked with the run's scope by `checkTemplate`).
 */
export function checkDeliver(
  deliver: SopDeliver | undefined,
  routesOf: (step: string) => { routes: string[]; worklist: boolean } | undefined,
  report: Report,
  checkTemplate: (text: string, at: KeyPath) => void,
): void {
  if (!deliver) return;
  const seen = new Map<string, string>();
  const kinds = ['comments', 'labels', 'statuses'] as const;
  const checkOn = (on: string | string[] | undefined, at: KeyPath) => {
    for (const p of on === undefined ? [] : Array.isArray(on) ? on : [on]) {
      if (p === 'end' || p === 'failure') continue;
      const [step, route] = p.split('.');
      const found = routesOf(step);
      const routes = found?.routes ?? [];
      if (!found) report('SOP280', `deliver: ${p} names no step ${step}`, [...at, 'on']);
      else if (found.worklist)
        report(
          'SOP280',
          `deliver: ${p}: step ${step} has for_each:, and routes of worklist items are no delivery points yet`,
          [...at, 'on'],
        );
      else if (!routes.includes(route))
        report(
          'SOP280',
          `deliver: ${p}: step ${step} has no route ${route} (its routes: ${routes.join(', ')})`,
          [...at, 'on'],
        );
    }
  };
  if (deliver.repo) checkTemplate(deliver.repo, ['deliver', 'repo']);
  const pr = deliver.pull_request;
  if (pr) {
    checkOn(pr.on, ['deliver', 'pull_request']);
    checkTemplate(pr.title, ['deliver', 'pull_request', 'title']);
    if (pr.body) checkTemplate(pr.body, ['deliver', 'pull_request', 'body']);
  }
  for (const kind of kinds) {
    for (const [name, spec] of Object.entries(deliver[kind] ?? {})) {
      const at: KeyPath = ['deliver', kind, name];
      const before = seen.get(name);
      if (before || name === PR_NAME)
        report(
          'SOP281',
          `deliver: ${name} is declared twice (${before ?? 'pull_request'} and ${kind})`,
          at,
          true,
        );
      seen.set(name, kind);
      checkOn(spec.on, at);
      if ('issue' in spec) checkTemplate(String(spec.issue), [...at, 'issue']);
      if ('body' in spec) checkTemplate(spec.body, [...at, 'body']);
      if ('add' in spec) {
        const removed: string[] = spec.remove ?? [];
        const both = (spec.add ?? []).filter((l: string) => removed.includes(l));
        if (both.length > 0)
          report('SOP282', `deliver: ${name} adds and removes ${both.join(', ')}`, [...at, 'remove']);
      }
    }
  }
  const agent = deliver.agent;
  if (agent?.labels?.max !== undefined && agent.labels.max > agent.labels.allowed.length)
    report(
      'SOP282',
      `deliver.agent.labels: max ${agent.labels.max} is more than the ${agent.labels.allowed.length} allowed labels`,
      ['deliver', 'agent', 'labels', 'max'],
    );
}
