// Build step (`npm run build`): bundle the workflow code once so workers never run webpack at start-up.
import { prebuiltBundlePath, writeWorkflowBundle } from './workflow-bundle';

writeWorkflowBundle(prebuiltBundlePath).then(
  () => process.stdout.write(`wrote ${prebuiltBundlePath}\n`),
  (err) => {
    process.stderr.write(
      `error: bundling workflow code failed: ${err instanceof Error ? err.message : err}\n`,
    );
    process.exit(1);
  },
);
