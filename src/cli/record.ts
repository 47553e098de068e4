// `sop run --record FILE`: the run's harnesses talk to their model APIs through the recording proxy, and
// the replies are written as a scenario when the run ends (however it ends).

import {
  DEFAULT_UPSTREAMS,
  secretValues,
  startRecordingProxy,
  writeScenario,
} from '../scripted-model/recorder';

/** Runs `fn` (which creates the worker) with both harnesses' base URLs pointed at a recording proxy. */
export async function withRecording<T>(
  file: string | undefined,
  ref: { sop: string; taskId: string },
  fn: () => Promise<T>,
): Promise<T> {
  if (!file) return fn();
  const upstreams = {
    codex: process.env.SOP_CODEX_BASE_URL || DEFAULT_UPSTREAMS.codex,
    claude: process.env.SOP_CLAUDE_BASE_URL || DEFAULT_UPSTREAMS.claude,
  };
  const proxy = await startRecordingProxy(upstreams, { secrets: secretValues() });
  const saved = { codex: process.env.SOP_CODEX_BASE_URL, claude: process.env.SOP_CLAUDE_BASE_URL };
  // the in-process worker's harness adapters read these when they are created
  process.env.SOP_CODEX_BASE_URL = proxy.codexBaseUrl;
  process.env.SOP_CLAUDE_BASE_URL = proxy.claudeBaseUrl;
  try {
    return await fn();
  } finally {
    restore('SOP_CODEX_BASE_URL', saved.codex);
    restore('SOP_CLAUDE_BASE_URL', saved.claude);
    await proxy.close();
    const { scenario, notes, conversations, replies } = proxy.scenario();
    writeScenario(file, scenario, [
      `Recorded by \`sop run --record\` from ${ref.sop}/${ref.taskId} (${new Date().toISOString()}).`,
      `Upstreams: codex ${upstreams.codex}, claude ${upstreams.claude}. Replay it with \`sop test\`.`,
      ...notes.map((n) => `Note: ${n}`),
    ]);
    process.stderr.write(
      `recorded ${replies} model replies in ${conversations} conversations to ${file}${notes.length ? ` (${notes.length} approximated: see the file's header)` : ''}\n`,
    );
  }
}

function restore(name: string, value: string | undefined): void {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}
