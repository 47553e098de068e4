// The PostgreSQL-backed cluster of temporal/cluster/ for the bench's cluster rows (`cluster`, and the
// `capacity` rows on the cluster): started on first use (built, and PostgreSQL installed, the first time),
// once per bench run, and stopped at the end when this run started it.

const path = require('node:path');
const { spawnSync } = require('node:child_process');

const script = (name) => path.join(__dirname, '..', 'temporal', 'cluster', name);

/**
 * The cluster at SOP_CLUSTER_PORT (frontend; history and matching services at +1 and +2; its internal
 * worker service listens on no port of its own and runs in the same process, as all of them do) and
 * SOP_CLUSTER_PG_PORT, as temporal/cluster/env.sh sets them. `start()` returns its address, or throws saying
 * why it cannot start (every later call throws the same).
 */
function clusterSession(env = process.env) {
  const port = Number(env.SOP_CLUSTER_PORT || '17233');
  const pgPort = Number(env.SOP_CLUSTER_PG_PORT || '55432');
  const address = `127.0.0.1:${port}`;
  let outcome;
  let startedHere = false;
  return {
    address,
    /** The server's parts and the ports their processes listen on (the capacity rows count their CPU). */
    server: { 'Temporal server': [port, port + 1, port + 2], PostgreSQL: [pgPort] },
    start() {
      if (!outcome) {
        const started = spawnSync('bash', [script('start.sh')], {
          stdio: ['ignore', 'ignore', 'pipe'],
          encoding: 'utf8',
        });
        if (started.status === 0) {
          startedHere = /Temporal server started/.test(started.stderr);
          outcome = { address };
        } else {
          process.stderr.write(started.stderr);
          outcome = {
            error: `temporal/cluster/start.sh failed (exit ${started.status}; see above): the cluster's rows are not measured (--no-cluster leaves them out)`,
          };
        }
      }
      if (outcome.error) throw new Error(outcome.error);
      return outcome.address;
    },
    /** Stops the cluster if `start()` started it. */
    stop() {
      if (startedHere) spawnSync('bash', [script('stop.sh')], { stdio: 'ignore' });
      startedHere = false;
    },
  };
}

module.exports = { clusterSession };
