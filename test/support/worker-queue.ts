// Files of a tier can run at once (jest workers): a `sop` command or worker a test starts without a task queue
// of its own polls this jest worker's default queue, so two files never share `sop-runtime`.
process.env.SOP_TASK_QUEUE ??= `sop-runtime-${process.env.JEST_WORKER_ID ?? '1'}`;
