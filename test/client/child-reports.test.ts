import * as fs from 'node:fs';
import * as path from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { renderRunEvents } from '../../src/client/run-events';
import { historiesDir } from '../support/histories';

// How `sop logs --events` tells a parent's child reports, from a recorded history (a parent whose child ran one
// agent run, reported it, and was terminated by hand): a usage report is told as usage, never as a person who
// "no longer" waits, where nobody ever did.

const events = (name: string) =>
  renderRunEvents(
    historyFromJSON(JSON.parse(fs.readFileSync(path.join(historiesDir, `${name}.json`), 'utf8'))).events ??
      [],
  );

test("a child's usage report is told as usage; nobody awaited, so nobody 'no longer waits'", () => {
  const told = events('request-sop-child-terminated');
  const reports = told.filter((e) => e.kind === 'child usage' || e.kind === 'child status');
  expect(reports.map((e) => e.kind)).toEqual(['child usage']);
  expect(reports[0].text).toMatch(/^stage_probe\/t-\w+\/call has used 1 agent runs, \$0\.2500 so far$/);
});

test('a child awaiting a person, then answered: waits, then no longer waits, once each', () => {
  const told = events('request-sop-child-waiting').filter((e) => e.kind === 'child status');
  expect(told.map((e) => e.text.replace(/^\S+ /, ''))).toEqual([
    expect.stringMatching(/^waits for a person in /),
    'no longer waits for a person',
  ]);
});
