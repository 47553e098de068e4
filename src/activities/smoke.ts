/**
 * The activity of the smoke workflow: echoes its input and says which process ran it.
 * @public registered by name (activities/index.ts), called through proxyActivities (workflows/smoke.ts)
 */
export async function smokeEcho(message: string): Promise<{ echoed: string; workerPid: number }> {
  return { echoed: message, workerPid: process.pid };
}
