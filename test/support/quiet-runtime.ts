import { installRuntime } from '../../src/worker/runtime';

// One-line WARN logs instead of multi-line INFO records for every worker a test starts.
// Core's own logs are not forwarded here: forwarding would keep jest's process alive after a test file that
// never opened a connection in-process (it only ran the CLI).
installRuntime('WARN', { forwardCoreLogs: false });
