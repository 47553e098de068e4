// Every decision sent from the console, and every one refused, as one JSON line in the project's
// .sop/console/audit.jsonl (who, role, what, which run, the outcome), and one line in `sop serve`'s log.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Identity } from './access';

export interface AuditEntry {
  at: string;
  who: string;
  role: string;
  action: string;
  /** the run's workflow id, or the trigger */
  target: string;
  outcome: 'sent' | 'refused' | 'failed';
  detail?: string;
}

export class AuditLog {
  readonly file: string;
  constructor(
    projectDir: string,
    private readonly log: (line: string) => void,
  ) {
    this.file = path.join(projectDir, '.sop', 'console', 'audit.jsonl');
  }

  record(
    who: Identity,
    action: string,
    target: string,
    outcome: AuditEntry['outcome'],
    detail?: string,
  ): void {
    const entry: AuditEntry = {
      at: new Date().toISOString(),
      who: who.name,
      role: who.role,
      action,
      target,
      outcome,
      ...(detail ? { detail } : {}),
    };
    this.log(
      `console: ${who.name} (${who.role}) ${action} ${target}: ${outcome}${detail ? ` (${detail})` : ''}`,
    );
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    fs.appendFileSync(this.file, `${JSON.stringify(entry)}\n`);
  }
}
