// What both harness parsers share: the denial collector (one record per blocked call and target, however
// often the transcript repeats it) and the scan of a command's output for what the OS sandbox refused.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { under } from '../policies/paths';
import { DENIAL_TEXT_LIMIT, type Denial, DenialSchema } from '../shapes/denial';
import { DEFAULT_POLICY, mergePolicies, type Policy } from '../shapes/policy';

export interface DenialContext {
  workspace: string;
  /** the step's requested policy (defaults are filled in here) */
  policy: Policy;
}

const clip = (text: string) => {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > DENIAL_TEXT_LIMIT ? `${line.slice(0, DENIAL_TEXT_LIMIT - 1)}…` : line;
};

/** Denials of one execution, each kept once: keyed by the call and, for a command, the blocked target. */
export class DenialCollector {
  private readonly byKey = new Map<string, Denial>();
  /** the calls (by id) with at least one denial */
  readonly deniedCalls = new Set<string>();

  constructor(private readonly ctx: DenialContext) {}

  add(callId: string, denial: Denial): void {
    const target = this.relative(denial.target);
    const key =
      denial.source === 'permission' || denial.source === 'disabled_tool'
        ? `${callId}\0call`
        : `${callId}\0${denial.source}\0${target}`;
    this.deniedCalls.add(callId);
    if (this.byKey.has(key)) return;
    this.byKey.set(key, DenialSchema.parse({ ...denial, target: clip(target), reason: clip(denial.reason) }));
  }

  /** Everything the OS sandbox refused in one command's output (see `blockedInOutput`). */
  addOutput(callId: string, tool: string, command: string, output: string): void {
    for (const found of blockedInOutput(output, this.ctx, command)) {
      this.add(callId, { tool, ...found, target: found.target || command });
    }
  }

  list(): Denial[] {
    return [...this.byKey.values()];
  }

  /** A path inside the workspace as a workspace-relative one; anything else as it was. */
  relative(target: string): string {
    if (!path.isAbsolute(target)) return target;
    const rel = path.relative(this.ctx.workspace, target);
    return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : target;
  }
}

const REFUSED = /Permission denied|Read-only file system|Operation not permitted|\bE(?:ACCES|PERM|ROFS)\b/;
const MISSING = /No such file or directory|\bENOENT\b/;
const RESOLVE_FAILED =
  /Could not resolve host:? ?(\S*)|Temporary failure in name resolution|Network is unreachable|getaddrinfo E(?:AI_AGAIN|NOTFOUND) (\S+)|unable to resolve host address ['‘"]?([^'’"\s]*)/;
// Claude Code's sandbox reports what it blocked in a <sandbox_violations> block of the command's stderr
const VIOLATIONS = /<sandbox_violations>([\s\S]*?)<\/sandbox_violations>/g;
const VIOLATION = /^deny (network-\S+|file-\S+) (\S+)/;
/** files larger than this are not searched for quoted error lines */
const QUOTED_FILE_LIMIT = 1024 * 1024;

/**
 * What the OS sandbox refused in a command's output. Where the harness reports it structurally (Claude's
 * `<sandbox_violations>` block), its entries and nothing else. Otherwise one entry per line that shows a
 * refusal: EACCES / EPERM / EROFS on a path, a path under deny_read the sandbox hid (ENOENT for a file that
 * exists), and, when the policy keeps the network closed, a failed name lookup — except lines that are text
 * the command printed from a workspace file it names (`cat notes.md` of a page about errors is no denial).
 */
export function blockedInOutput(
  output: string,
  ctx: DenialContext,
  command = '',
): Array<Pick<Denial, 'target' | 'reason' | 'source'>> {
  const reported = [...output.matchAll(VIOLATIONS)].flatMap((block) => block[1].split('\n'));
  if (reported.length > 0) {
    return reported.flatMap((raw) => {
      const line = raw.trim();
      const violation = VIOLATION.exec(line);
      if (!violation) return [];
      const source: Denial['source'] = violation[1].startsWith('network') ? 'network' : 'sandbox';
      return [{ target: violation[2], reason: line, source }];
    });
  }
  const policy = mergePolicies(DEFAULT_POLICY, ctx.policy);
  const networkClosed = policy.network !== 'open' && policy.sandbox !== 'full-access';
  const quoted = filesNamedBy(command, ctx.workspace);
  const found: Array<Pick<Denial, 'target' | 'reason' | 'source'>> = [];
  for (const raw of output.split('\n')) {
    const line = raw.trim();
    if (!line || quoted.some((text) => text.includes(line))) continue;
    if (REFUSED.test(line)) {
      found.push({ target: pathIn(line) ?? '', reason: line, source: 'sandbox' });
    } else if (MISSING.test(line) && policy.deny_read?.length) {
      const file = pathIn(line);
      const rel = file && path.relative(ctx.workspace, path.resolve(ctx.workspace, file));
      if (
        rel &&
        !rel.startsWith('..') &&
        policy.deny_read.some((p) => under(rel, p)) &&
        fs.existsSync(path.join(ctx.workspace, rel))
      ) {
        found.push({
          target: rel,
          reason: `${line} (the file exists: deny_read hides it)`,
          source: 'sandbox',
        });
      }
    } else if (networkClosed) {
      const network = RESOLVE_FAILED.exec(line);
      if (network) {
        found.push({ target: network[1] || network[2] || network[3] || '', reason: line, source: 'network' });
      }
    }
  }
  return found;
}

/** The text of the readable workspace files a command names (what it may print as its own output). */
function filesNamedBy(command: string, workspace: string): string[] {
  const texts: string[] = [];
  for (const word of new Set(command.split(/[\s;|&<>()'"`]+/))) {
    if (!word || word.startsWith('-')) continue;
    const file = path.resolve(workspace, word);
    const rel = path.relative(workspace, file);
    if (rel.startsWith('..') || path.isAbsolute(rel)) continue;
    try {
      const stat = fs.statSync(file);
      if (stat.isFile() && stat.size <= QUOTED_FILE_LIMIT) texts.push(fs.readFileSync(file, 'utf8'));
    } catch {
      // not a file, or not readable: nothing it could have printed from it
    }
  }
  return texts;
}

/** The path an error line names: `cat: x: Permission denied`, `cannot open 'x'`, `EACCES: …, open 'x'`. */
function pathIn(line: string): string | undefined {
  const quoted = /['‘"]([^'’"]+)['’"]/;
  const errno = /\bE[A-Z]+: [^,]*, \w+ ['"]([^'"]+)['"]/.exec(line);
  if (errno) return errno[1];
  const after =
    /(?:Permission denied|Read-only file system|Operation not permitted|No such file or directory): ['"]([^'"]+)['"]/.exec(
      line,
    );
  if (after) return after[1];
  const before =
    /(?:^|: )([^:]+?): (?:Permission denied|Read-only file system|Operation not permitted|No such file or directory)/.exec(
      line,
    );
  if (!before) return undefined;
  const segment = before[1].trim();
  return quoted.exec(segment)?.[1] ?? segment.split(/\s+/).pop();
}
