// Scripted-model pieces for ralph_loop runs with one trivial work item, and small git workspaces, shared
// by the end-to-end tests that drive the real harnesses.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execa } from 'execa';
import type { Reply, Rule } from '../../src/scripted-model/scenario';

/** The planner writes a plan with the single item `noop`, then answers `done`. */
export const planOneItem: Reply[] = [
  {
    write: {
      path: '{{ run_folder }}/work.json',
      content: '{ "summary": "s", "items": [{ "id": "noop", "title": "Nothing", "status": "todo" }] }\n',
    },
  },
  { final: { route: 'done', summary: 'planned', details: '' } },
];

/** The plan reviewer writes its review and routes. */
export const reviewPlan = (route: 'accepted' | 'needs_rework'): Reply[] => [
  { write: { path: '{{ run_folder }}/plan_review.md', content: `Verdict: ${route}\n` } },
  { final: { route, summary: route, details: route === 'accepted' ? '' : 'the plan is too vague' } },
];

/** Item `noop` is implemented (nothing to do) and accepted by its reviewer. */
export const noopItemRules: Rule[] = [
  { match: 'Implement item **noop', runs: [[{ final: { route: 'done', summary: 'n', details: '' } }]] },
  {
    match: '/Item \\*\\*noop[\\s\\S]*has just been implemented/',
    runs: [
      [
        { write: { path: '{{ run_folder }}/items/noop/review.md', content: 'Verdict: accepted\n' } },
        { final: { route: 'accepted', summary: 'fine', details: '' } },
      ],
    ],
  },
];

/** A fresh git repository with a README (and whatever `files` adds). */
export async function smallRepo(prefix: string, files: Record<string, string> = {}): Promise<string> {
  const workspace = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  fs.writeFileSync(path.join(workspace, 'README.md'), 'a repo\n');
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(workspace, name), text);
  await execa('git', ['init', '-q'], { cwd: workspace });
  return workspace;
}

/** A committed copy of examples/slugify (the demo's sample repository). */
export async function slugifyRepo(prefix: string): Promise<string> {
  const workspace = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  fs.cpSync(path.join(__dirname, '..', '..', 'examples', 'slugify'), workspace, { recursive: true });
  const git = (...args: string[]) =>
    execa('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.invalid', ...args], { cwd: workspace });
  await git('init', '-q');
  await git('add', '-A');
  await git('commit', '-qm', 'example');
  return workspace;
}

/** `step:item:route` for each route a run took. */
export const routeNames = (routes: Array<{ step: string; item?: string; route: string }>) =>
  routes.map((r) => [r.step, r.item, r.route].filter(Boolean).join(':'));

/** The routes of the demo scenario (examples/demo/ralph_loop.scenario.yaml): one rework on item 1. */
export const DEMO_ROUTES = [
  'plan:accepted',
  'implement:collapse-whitespace:needs_rework',
  'implement:collapse-whitespace:accepted',
  'implement:strip-punctuation:accepted',
];
