import { installRuntime } from '../../src/worker/runtime';

// One-line WARN logs instead of multi-line INFO records for every worker a test starts.
installRuntime('WARN');
