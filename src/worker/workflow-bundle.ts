import * as fs from 'node:fs';
import * as path from 'node:path';
import { bundleWorkflowCode, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { envValue } from '../config/env';
import { packageRoot } from '../temporal/package-paths';

/** Written by `npm run build` so workers start without running webpack. */
export const prebuiltBundlePath = path.join(packageRoot, 'dist', 'workflow-bundle.js');

function workflowsEntry(): string {
  return require.resolve('../workflows');
}

// zod's translated messages (every locale, half of zod's size) are never used by the workflow code: the
// run request and message checks word their own messages (src/shapes/zod-problem.ts).
const zodLocales = path.dirname(require.resolve('zod/v4/locales'));

export async function bundleWorkflows(): Promise<WorkflowBundleWithSourceMap> {
  return bundleWorkflowCode({
    workflowsPath: workflowsEntry(),
    logger: quietLogger,
    webpackConfigHook: (config) => {
      config.resolve = {
        ...config.resolve,
        alias: {
          ...(config.resolve?.alias as Record<string, string | false> | undefined),
          [path.join(zodLocales, 'index.cjs')]: false,
          [path.join(zodLocales, 'index.js')]: false,
        },
      };
      return config;
    },
  });
}

/**
 * The workflow code a worker runs: SOP_WORKFLOW_BUNDLE (tests point it at a fresh bundle), else the
 * pre-built dist/workflow-bundle.js, else bundled now (slow: seconds of webpack).
 */
export async function loadWorkflowBundle(
  log: (line: string) => void = () => {},
): Promise<{ codePath: string } | WorkflowBundleWithSourceMap> {
  const explicit = envValue('SOP_WORKFLOW_BUNDLE');
  if (explicit) {
    if (!fs.existsSync(explicit)) throw new Error(`SOP_WORKFLOW_BUNDLE=${explicit} does not exist`);
    return { codePath: explicit };
  }
  if (fs.existsSync(prebuiltBundlePath)) return { codePath: prebuiltBundlePath };
  log('no pre-built workflow bundle (run `npm run build`); bundling workflow code now');
  return bundleWorkflows();
}

export async function writeWorkflowBundle(file: string): Promise<void> {
  const { code } = await bundleWorkflows();
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, code);
}

const quietLogger = {
  log: () => {},
  trace: () => {},
  debug: () => {},
  info: () => {},
  warn: (message: string) => process.stderr.write(`workflow bundler: ${message}\n`),
  error: (message: string) => process.stderr.write(`workflow bundler: ${message}\n`),
};
