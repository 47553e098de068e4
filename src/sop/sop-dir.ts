// `{{ sop.dir }}` in the stdio command, arguments and environment of the tool servers an SOP declares: the
// SOP folder's absolute path where it is compiled, so an SOP can start a server that ships beside it
// (`args: ["{{ sop.dir }}/tools/tracker.js"]`). Only sop.yaml's own servers: sop.config.yaml's have no SOP.

import { type Diagnostic, diagnostic } from '../shapes/diagnostics';
import type { SopFile } from './schema';
import type { SourceFile } from './yaml-source';

const SOP_DIR = /\{\{\s*sop\.dir\s*\}\}/g;

/** The SOP with `{{ sop.dir }}` filled in (`dir` undefined: an SOP given as an object without a folder). */
export function withSopDir(
  sop: SopFile,
  dir: string | undefined,
  source: SourceFile,
): { sop: SopFile; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  let changed = false;
  const servers = Object.fromEntries(
    Object.entries(sop.mcp_servers ?? {}).map(([name, server]) => {
      if (!('command' in server)) return [name, server];
      const fill = (text: string, at: Array<string | number>) => {
        if (!SOP_DIR.test(text)) return text;
        SOP_DIR.lastIndex = 0;
        if (dir === undefined) {
          const where = ['mcp_servers', name, ...at];
          diagnostics.push(
            diagnostic(
              'SOP401',
              'sop.dir is the SOP folder: an SOP defined without one (defineSop without dir) has none',
              { file: source.file, ...source.locate(where), at: where.join('.') },
            ),
          );
          return text;
        }
        changed = true;
        return text.replace(SOP_DIR, () => dir);
      };
      return [
        name,
        {
          ...server,
          command: fill(server.command, ['command']),
          ...(server.args ? { args: server.args.map((a, i) => fill(a, ['args', i])) } : {}),
          ...(server.env
            ? {
                env: Object.fromEntries(Object.entries(server.env).map(([k, v]) => [k, fill(v, ['env', k])])),
              }
            : {}),
        },
      ];
    }),
  );
  return { sop: changed ? { ...sop, mcp_servers: servers } : sop, diagnostics };
}
