// One page of the runs list and how many runs match, from Temporal visibility: ListWorkflowExecutions with a
// page size and the server's page token, and CountWorkflowExecutions, for the query runs-query.ts builds.
import type { WorkflowExecutionInfo } from '@temporalio/client';
import { executionInfoFromRaw } from '@temporalio/client/lib/helpers';
import type { SopClient } from '../client';
import { SopName, SopParent, SopStatus, SopTaskId } from '../temporal/search-attributes';
import { type RowTrigger, rowTrigger } from './trigger-kinds';

const RUNS_PAGE_SIZE = 50;

interface RunRow {
  workflowId: string;
  sop: string;
  task: string;
  status: string;
  trigger: RowTrigger;
  parent?: string;
  startTime: Date;
  closeTime?: Date;
}

export interface RunsPage {
  rows: RunRow[];
  /** how many runs match the query (all pages) */
  total: number;
  /** the token of the next page, when there is one */
  next?: string;
}

function rowOf(wf: WorkflowExecutionInfo): RunRow {
  const name = wf.typedSearchAttributes.get(SopName) ?? wf.type;
  const parent = wf.typedSearchAttributes.get(SopParent);
  return {
    workflowId: wf.workflowId,
    sop: name,
    task: wf.typedSearchAttributes.get(SopTaskId) ?? wf.workflowId.slice(name.length + 1),
    status:
      wf.status.name === 'RUNNING'
        ? (wf.typedSearchAttributes.get(SopStatus) ?? 'running')
        : wf.status.name.toLowerCase(),
    trigger: rowTrigger(wf),
    ...(parent ? { parent } : {}),
    startTime: wf.startTime,
    closeTime: wf.closeTime,
  };
}

export async function runsPage(sop: SopClient, query: string, page?: string): Promise<RunsPage> {
  const { client, target } = sop;
  const service = client.workflowService;
  const [listed, counted] = await Promise.all([
    service.listWorkflowExecutions({
      namespace: target.namespace,
      query,
      pageSize: RUNS_PAGE_SIZE,
      nextPageToken: page ? Buffer.from(page, 'base64url') : undefined,
    }),
    service.countWorkflowExecutions({ namespace: target.namespace, query }),
  ]);
  const converter = client.options.loadedDataConverter;
  const rows = await Promise.all(
    (listed.executions ?? []).map(async (raw) =>
      rowOf((await executionInfoFromRaw(raw, converter, raw, target.namespace)) as WorkflowExecutionInfo),
    ),
  );
  const token = listed.nextPageToken;
  return {
    rows,
    total: Number(counted.count ?? rows.length),
    ...(token && token.length > 0 ? { next: Buffer.from(token).toString('base64url') } : {}),
  };
}
