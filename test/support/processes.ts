import * as fs from 'node:fs';

/**
 * Live processes (zombies aside, this one aside) whose working directory is or is under `text`, or whose
 * command line contains it, as "pid command line". From /proc (Linux).
 */
export function processesNaming(text: string): string[] {
  const found: string[] = [];
  for (const pid of fs.readdirSync('/proc').filter((e) => /^\d+$/.test(e) && Number(e) !== process.pid)) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) continue;
      const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
      let cwd = '';
      try {
        cwd = fs.readlinkSync(`/proc/${pid}/cwd`);
      } catch {
        // not ours to read
      }
      if (cmdline.includes(text) || cwd === text || cwd.startsWith(`${text}/`))
        found.push(`${pid} ${cmdline}`);
    } catch {
      // gone while looking
    }
  }
  return found;
}

/** SIGKILL to every process `processesNaming(text)` finds (a failed test's leftovers). */
export function killProcessesNaming(text: string): void {
  for (const line of processesNaming(text)) {
    try {
      process.kill(Number(line.split(' ')[0]), 'SIGKILL');
    } catch {
      // gone already
    }
  }
}
