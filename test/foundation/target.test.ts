import * as fs from 'node:fs';
import * as path from 'node:path';
import { temporalDir } from '../../src/temporal/package-paths';
import { searchAttributeKeys } from '../../src/temporal/search-attributes';
import { resolveTemporalTarget, workflowUiLink } from '../../src/temporal/target';

describe('resolveTemporalTarget', () => {
  test('without TEMPORAL_ADDRESS: the embedded dev server on its default ports', () => {
    const target = resolveTemporalTarget({});
    expect(target).toMatchObject({ kind: 'embedded', address: '127.0.0.1:7233', namespace: 'default' });
    expect(target.webUiUrl).toBe('http://127.0.0.1:8233');
    expect(target.taskQueue).toBe('sop-runtime');
  });

  test('SOP_TEMPORAL_PORT / SOP_TEMPORAL_UI_PORT move the embedded server', () => {
    const target = resolveTemporalTarget({ SOP_TEMPORAL_PORT: '17000', SOP_TEMPORAL_UI_PORT: '18000' });
    expect(target.address).toBe('127.0.0.1:17000');
    expect(target.webUiUrl).toBe('http://127.0.0.1:18000');
  });

  test('TEMPORAL_ADDRESS selects an existing cluster with its namespace, API key and TLS', () => {
    const target = resolveTemporalTarget({
      TEMPORAL_ADDRESS: 'prod.tmprl.example:7233',
      TEMPORAL_NAMESPACE: 'agents',
      TEMPORAL_API_KEY: 'secret-key',
      SOP_TASK_QUEUE: 'team-a',
    });
    expect(target).toMatchObject({
      kind: 'external',
      address: 'prod.tmprl.example:7233',
      namespace: 'agents',
    });
    expect(target.taskQueue).toBe('team-a');
    expect(target.connectionOptions.apiKey).toBe('secret-key');
    // an API key implies TLS for a remote cluster
    expect(target.connectionOptions.tls).toBeTruthy();
    expect(target.webUiUrl).toBeUndefined();
  });
});

test('workflow links in the Web UI escape the `<sop>/<task>` id', () => {
  const target = resolveTemporalTarget({});
  expect(workflowUiLink(target, 'ralph_loop/csv export', 'r1')).toBe(
    'http://127.0.0.1:8233/namespaces/default/workflows/ralph_loop%2Fcsv%20export/r1/history',
  );
});

test('the search attributes start.sh registers are exactly the ones the code writes', () => {
  const registered = fs
    .readFileSync(path.join(temporalDir, 'search-attributes.txt'), 'utf8')
    .split('\n')
    .filter((line) => line.trim() && !line.startsWith('#'))
    .map((line) => line.split('=')[0]);
  expect(registered.sort()).toEqual(searchAttributeKeys.map((k) => k.name).sort());
});
