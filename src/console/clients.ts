// The console acts as the signed-in person: each identity gets its own Temporal client (on the one shared
// connection) whose identity is the person's, so history, and the answer record `sop answer` also writes,
// names who decided.
import { Client } from '@temporalio/client';
import { SopClient } from '../client';
import type { Identity } from './access';

/** How history names a console user: `alice (sop console)`. */
const consoleIdentity = (who: Identity) => `${who.name} (sop console)`;

export class IdentityClients {
  private readonly byName = new Map<string, SopClient>();
  constructor(readonly base: SopClient) {}

  as(who: Identity): SopClient {
    const identity = consoleIdentity(who);
    let found = this.byName.get(identity);
    if (!found) {
      const client = new Client({
        connection: this.base.client.connection,
        namespace: this.base.target.namespace,
        identity,
      });
      found = new SopClient(client, this.base.target);
      this.byName.set(identity, found);
    }
    return found;
  }
}
