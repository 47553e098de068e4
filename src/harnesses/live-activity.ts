// The live view of one agent execution: every action the harness reports (a command started or finished, a
// file written, a tool called, a denial, an approval asked) goes into a bounded ring with a sequence number;
// the agent activity heartbeats `details()`, so clients on any machine see it without a history event per
// action (src/shapes/live-activity.ts). Texts are redacted, then capped.

import * as path from 'node:path';
import {
  LIVE_ACTIONS_KEPT,
  LIVE_TEXT_MAX,
  type LiveAction,
  type LiveActivity,
  type LiveCounts,
} from '../shapes/live-activity';
import { redactText } from './redact';

type WithoutStamp<T> = T extends unknown ? Omit<T, 'seq' | 'at'> : never;
/** An action as a harness parser reports it: the recorder numbers and stamps it. */
export type LiveActionInput = WithoutStamp<LiveAction>;

/** Which execution the recorder describes (the activity knows, the harness adapter does not). */
export interface LiveHead {
  step: string;
  role: string;
  attempt: number;
  item?: string;
}

const COUNTED: Record<LiveAction['kind'], keyof LiveCounts | undefined> = {
  command: 'commands',
  file: 'files',
  tool: 'tools',
  denial: 'denials',
  approval: 'approvals',
  message: 'messages',
};

/** One line, secrets out, at most LIVE_TEXT_MAX characters: the start, or with `tail` the end. */
function liveText(text: string, options: { tail?: boolean } = {}): string {
  const clean = redactText(text).replace(/\s+/g, ' ').trim();
  if (clean.length <= LIVE_TEXT_MAX) return clean;
  return options.tail
    ? `…${clean.slice(clean.length - LIVE_TEXT_MAX + 1)}`
    : `${clean.slice(0, LIVE_TEXT_MAX - 1)}…`;
}

export class LiveRecorder {
  private seq = 0;
  private readonly ring: LiveAction[] = [];
  private readonly counts: LiveCounts = {
    commands: 0,
    files: 0,
    tools: 0,
    denials: 0,
    approvals: 0,
    messages: 0,
  };
  private tokens = { input: 0, output: 0 };
  private harnessName = '';
  private sessionId?: string;
  private events = 0;

  constructor(
    private readonly head: LiveHead,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** the harness (`codex`, `claude`, ...) and, once known, its session */
  harness(name: string, sessionId?: string, events?: number): void {
    this.harnessName = name;
    if (sessionId) this.sessionId = sessionId;
    if (events !== undefined) this.events = events;
  }

  add(action: LiveActionInput): void {
    const stamped = { ...clean(action), seq: ++this.seq, at: this.now().toISOString() } as LiveAction;
    this.ring.push(stamped);
    if (this.ring.length > LIVE_ACTIONS_KEPT) this.ring.shift();
    const counter = COUNTED[action.kind];
    // a command or a tool counts once, when it starts; an approval once, when it is asked
    if (counter && !('phase' in action && (action.phase === 'finished' || action.phase === 'decided')))
      this.counts[counter]++;
  }

  /** tokens used so far by this execution (the harness's running totals) */
  setTokens(input: number, output: number): void {
    this.tokens = { input: Math.max(0, Math.round(input)), output: Math.max(0, Math.round(output)) };
  }

  /**
   * details() as the execution ends (the ring of its last LIVE_ACTIONS_KEPT actions), for its result: what a
   * follower may not have read from a heartbeat, and what a page of the ended run shows; undefined when the
   * execution reported no action
   */
  final(): LiveActivity | undefined {
    return this.seq > 0 ? this.details() : undefined;
  }

  details(): LiveActivity {
    return {
      live: 1,
      harness: this.harnessName,
      ...this.head,
      ...(this.head.item === undefined ? {} : { item: this.head.item }),
      ...(this.sessionId ? { sessionId: this.sessionId } : {}),
      seq: this.seq,
      actions: [...this.ring],
      counts: { ...this.counts },
      tokens: { ...this.tokens },
      events: this.events,
      updatedAt: this.now().toISOString(),
    };
  }
}

/** Every text of an action redacted and capped (an output keeps its end, where the errors are). */
function clean(action: LiveActionInput): LiveActionInput {
  const out: Record<string, unknown> = { ...action };
  for (const [key, value] of Object.entries(action)) {
    if (typeof value === 'string' && key !== 'kind' && key !== 'phase' && key !== 'change')
      out[key] = liveText(value, { tail: key === 'output' });
  }
  return out as LiveActionInput;
}

/** A path inside the workspace as a workspace-relative one; anything else as it is. */
export function workspacePath(workspace: string, file: string): string {
  if (!path.isAbsolute(file)) return file;
  const rel = path.relative(workspace, file);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : file;
}

/** What a tool input shows in one line: its JSON, redacted and capped by the recorder. */
export function inputText(input: unknown): string | undefined {
  if (input === undefined || input === null) return undefined;
  try {
    return JSON.stringify(input);
  } catch {
    return undefined;
  }
}
