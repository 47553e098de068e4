// The worklist activities: read a step's worklist (a JSON artifact) a window at a time, mark items done,
// and reopen items for a rerun. The file is written atomically; the workflow holds only the window.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import type {
  CompleteItemRequest,
  CompleteItemWindowRequest,
  ReopenItemsRequest,
  WorkItem,
  WorklistRequest,
  WorklistWindow,
  WorklistWindowRequest,
} from '../shapes/contract';
import { resolveInWorkspace } from './workspace-paths';

export const worklistActivities = {
  async loadWorklistWindow(request: WorklistWindowRequest): Promise<WorklistWindow> {
    const items = readWorklist(request).list.map((entry) => toItem(entry, request));
    return windowOf(items, request);
  },

  async completeWorklistItemWindow(request: CompleteItemWindowRequest): Promise<WorklistWindow> {
    return windowOf(writeItemStatus(request), request);
  },

  /** Sets items back to pending so a rerun of their step does them again; returns the ids reopened. */
  async reopenWorklistItems(request: ReopenItemsRequest): Promise<{ reopened: string[] }> {
    const { file, document, list } = readWorklist(request);
    const { id, status } = request.worklist;
    const wanted = request.itemIds && new Set(request.itemIds);
    if (wanted) {
      const known = new Set(list.map((e) => String(e[id])));
      const unknown = [...wanted].filter((w) => !known.has(w));
      if (unknown.length > 0) {
        throw ApplicationFailure.create({
          type: 'SopWorklistError',
          nonRetryable: true,
          message: `worklist ${request.worklist.from.name} (${request.worklist.from.path}) has no item ${unknown.join(', ')}; its items: ${[...known].slice(0, 20).join(', ')}${known.size > 20 ? ', …' : ''}`,
        });
      }
    }
    const reopened: string[] = [];
    for (const entry of list) {
      if (wanted && !wanted.has(String(entry[id]))) continue;
      entry[status] = 'pending';
      reopened.push(String(entry[id]));
    }
    writeJsonAtomically(file, document);
    return { reopened };
  },

  /** Kept for runs started before the worklist-window patch: returns the whole list. */
  async loadWorklist(request: WorklistRequest): Promise<WorkItem[]> {
    return readWorklist(request).list.map((entry) => toItem(entry, request));
  },

  /** Kept for runs started before the worklist-window patch: returns the whole list. */
  async completeWorklistItem(request: CompleteItemRequest): Promise<WorkItem[]> {
    return writeItemStatus(request);
  },
};

function windowOf(items: WorkItem[], request: { exclude: string[]; limit: number }): WorklistWindow {
  const excluded = new Set(request.exclude);
  return {
    pending: items.filter((i) => i.status !== 'done' && !excluded.has(i.id)).slice(0, request.limit),
    done: items.filter((i) => i.status === 'done').length,
    total: items.length,
  };
}

function writeItemStatus(request: CompleteItemRequest): WorkItem[] {
  const { file, document, list } = readWorklist(request);
  const { id, status } = request.worklist;
  const entry = list.find((e) => String(e[id]) === request.itemId);
  if (!entry) {
    throw ApplicationFailure.create({
      type: 'SopWorklistError',
      nonRetryable: true,
      message: `worklist ${request.worklist.from.name}: item ${request.itemId} is no longer in ${request.worklist.from.path}`,
    });
  }
  entry[status] = request.status;
  writeJsonAtomically(file, document);
  return list.map((e) => toItem(e, request));
}

function writeJsonAtomically(file: string, document: unknown): void {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify(document, null, 2)}\n`);
  fs.renameSync(tmp, file);
}

function readWorklist(request: WorklistRequest): {
  file: string;
  document: unknown;
  list: Array<Record<string, unknown>>;
} {
  const { from, collection } = request.worklist;
  const where = `worklist source ${from.name} (${from.path})`;
  const problem = (message: string) =>
    ApplicationFailure.create({
      type: 'SopWorklistError',
      nonRetryable: true,
      message: `${where}: ${message}`,
    });
  const runFolderRel = path.relative(request.run.workspace, request.run.runFolder);
  let file: string;
  try {
    const relative = from.path.replace(/\{\{\s*run\.folder\s*\}\}/g, runFolderRel);
    file = resolveInWorkspace(request.run.workspace, relative);
  } catch (err) {
    throw problem((err as Error).message);
  }
  if (!fs.existsSync(file)) throw problem('the file does not exist (the step that writes it has not run?)');
  let document: unknown;
  try {
    document = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw problem(`not valid JSON: ${(err as Error).message}`);
  }
  const list = (document as Record<string, unknown> | null)?.[collection];
  if (!Array.isArray(list)) throw problem(`"${collection}" is not an array`);
  for (const [index, entry] of list.entries()) {
    if (
      !entry ||
      typeof entry !== 'object' ||
      (entry as Record<string, unknown>)[request.worklist.id] === undefined
    ) {
      throw problem(`${collection}[${index}] has no "${request.worklist.id}"`);
    }
  }
  return { file, document, list: list as Array<Record<string, unknown>> };
}

function toItem(entry: Record<string, unknown>, request: WorklistRequest): WorkItem {
  const { id, title, status } = request.worklist;
  return {
    id: String(entry[id]),
    title: String(entry[title] ?? entry[id]),
    status: String(entry[status] ?? 'pending'),
  };
}
