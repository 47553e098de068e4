import { approvalsShown } from '../../src/activities/live-view';
import { LiveRecorder } from '../../src/harnesses/live-activity';

// A tool call that waits for a person shows in the live view twice: when the question goes out (with the
// tool and its input, redacted) and when the answer comes back (who gave it), each sent at once.

test('an approval asked and its answer are live actions, each heartbeated as it happens', async () => {
  const live = new LiveRecorder({ step: 'fix', role: 'agent', attempt: 1 });
  const beats: number[] = [];
  let answer!: (v: {
    decision: { behavior: 'allow'; updatedInput: Record<string, unknown> };
    by: string;
  }) => void;
  const approve = approvalsShown(
    live,
    () => beats.push(live.details().seq),
    () => new Promise((resolve) => (answer = resolve)),
  );
  const asked = approve({ tool_name: 'Bash', input: { command: 'deploy --token=abcdef123456' } }, 60_000);
  expect(beats).toEqual([1]);
  expect(live.details().actions).toEqual([
    expect.objectContaining({
      kind: 'approval',
      phase: 'asked',
      tool: 'Bash',
      input: '{"command":"deploy --[redacted]"}',
    }),
  ]);
  answer({ decision: { behavior: 'allow', updatedInput: {} }, by: 'alice@laptop' });
  expect((await asked).by).toBe('alice@laptop');
  expect(beats).toEqual([1, 2]);
  expect(live.details().actions[1]).toMatchObject({
    kind: 'approval',
    phase: 'decided',
    approved: true,
    by: 'alice@laptop',
  });
  expect(live.details().counts.approvals).toBe(1);
});
