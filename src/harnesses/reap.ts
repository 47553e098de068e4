// Every process one harness launch started, however it detached itself, and how they are all ended.
//
// A harness runs in its own process group, but its sandbox helpers do not stay there: Codex starts
// `bwrap --new-session` helpers (`codex-linux-sandbox … --codex-run-as-fs-helper`), which are in a session
// of their own, are re-parented to init when Codex exits before them, and (as PID 1 of their PID
// namespace) ignore SIGTERM; an agent's command can `setsid` itself away too. Neither group nor parentage
// finds those. So a launch's processes are, from /proc (Linux; elsewhere only the group is reached):
//  - its process group and every descendant of its first process, while that lives;
//  - every process whose command line, environment, executable or working directory names one of the
//    folders only this launch uses (its hermetic home, its harness home): every helper and command
//    inherits HOME or PATH from the harness, and the sandbox helpers carry the harness home in their argv;
//  - every descendant of those.
// The workspace is not such a folder: it may be the user's own repository, with the user's shell in it.

import * as fs from 'node:fs';

interface ProcStat {
  ppid: number;
  pgrp: number;
  /** start time in clock ticks since boot: with the pid, identifies a process across pid reuse */
  start: string;
}

/** `/proc/<pid>/stat` fields after the command name: state [0], ppid [1], pgrp [2], start time [19]. */
function readStat(pid: number): (ProcStat & { zombie: boolean }) | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { ppid: Number(fields[1]), pgrp: Number(fields[2]), start: fields[19], zombie: fields[0] === 'Z' };
  } catch {
    return undefined;
  }
}

/** Every live process but this one and the zombies (already dead: nothing to kill), from /proc. */
function processTable(): Map<number, ProcStat> {
  const table = new Map<number, ProcStat>();
  let entries: string[];
  try {
    entries = fs.readdirSync('/proc');
  } catch {
    return table;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const stat = readStat(Number(entry));
    if (stat && !stat.zombie) table.set(Number(entry), stat);
  }
  return table;
}

/** `text` names `dir` itself or something below it (not merely a longer name that starts the same). */
function names(text: string, dir: string): boolean {
  for (let at = text.indexOf(dir); at >= 0; at = text.indexOf(dir, at + 1)) {
    if (!/[\w.-]/.test(text.charAt(at + dir.length))) return true;
  }
  return false;
}

/** Whether a process's command line, environment, executable or working directory names one of `dirs`. */
function usesDirs(pid: number, dirs: string[]): boolean {
  const texts: string[] = [];
  for (const file of ['cmdline', 'environ']) {
    try {
      texts.push(fs.readFileSync(`/proc/${pid}/${file}`, 'latin1'));
    } catch {
      // gone, or not ours to read
    }
  }
  for (const link of ['exe', 'cwd']) {
    try {
      texts.push(fs.readlinkSync(`/proc/${pid}/${link}`));
    } catch {
      // gone, a kernel thread, or not ours to read
    }
  }
  return texts.some((text) => dirs.some((dir) => names(text, dir)));
}

/** `found` plus every descendant of `roots` and of what is found, in `table`. */
function closure(
  table: Map<number, ProcStat>,
  found: Map<number, string>,
  roots: number[],
): Map<number, string> {
  const children = new Map<number, number[]>();
  for (const [pid, stat] of table) children.set(stat.ppid, [...(children.get(stat.ppid) ?? []), pid]);
  const queue = [...roots];
  while (queue.length > 0) {
    for (const child of children.get(queue.pop() as number) ?? []) {
      if (found.has(child)) continue;
      found.set(child, (table.get(child) as ProcStat).start);
      queue.push(child);
    }
  }
  return found;
}

/** Launches whose processes are killed when this process exits, whatever is still in flight then. */
const live = new Set<HarnessLaunch>();
let exitHookInstalled = false;

/** One harness process and everything it starts, found and ended as a whole (see the top of this file). */
export class HarnessLaunch {
  /** processes found so far, with their start times (a later process reusing a pid is not touched) */
  private readonly known = new Map<number, string>();
  private reaping?: Promise<number>;

  constructor(
    /** the launched process, leader of its own process group */
    readonly pid: number,
    /** folders only this launch uses (absolute; see the top of this file) */
    readonly dirs: string[],
  ) {
    live.add(this);
    if (!exitHookInstalled) {
      exitHookInstalled = true;
      process.on('exit', () => {
        for (const launch of live) launch.signal('SIGKILL');
      });
    }
  }

  /** Every live process of the launch now (and those found before that still live). */
  processes(): Map<number, string> {
    const table = processTable();
    const found = new Map<number, string>();
    for (const [pid, stat] of table) {
      if (pid === this.pid || stat.pgrp === this.pid) found.set(pid, stat.start);
      else if (this.known.get(pid) === stat.start) found.set(pid, stat.start);
      else if (this.dirs.length > 0 && usesDirs(pid, this.dirs)) found.set(pid, stat.start);
    }
    closure(table, found, [this.pid, ...found.keys()]);
    for (const [pid, start] of found) this.known.set(pid, start);
    return found;
  }

  /** Sends `sig` to the process group and to every process of the launch. */
  signal(sig: NodeJS.Signals): number {
    const found = this.processes();
    signalPid(-this.pid, sig);
    for (const pid of found.keys()) signalPid(pid, sig);
    return found.size;
  }

  /**
   * Ends every process of the launch: SIGTERM, then SIGKILL to whatever is left after `graceMs`, until none
   * is found. Resolves with how many were found at first. Concurrent calls share one reaping.
   */
  reap(graceMs: number): Promise<number> {
    this.reaping ??= this.reapOnce(graceMs).finally(() => {
      this.reaping = undefined;
    });
    return this.reaping;
  }

  private async reapOnce(graceMs: number): Promise<number> {
    const first = graceMs > 0 ? this.signal('SIGTERM') : this.signal('SIGKILL');
    if (first === 0) return 0;
    const deadline = Date.now() + graceMs;
    while (Date.now() < deadline && this.processes().size > 0) await sleep(50);
    // a process can fork while it is being killed: look again until nothing is left
    for (let round = 0; round < 20 && this.signal('SIGKILL') > 0; round++) await sleep(50);
    return first;
  }

  /** The launch is over: its processes are no longer killed when this process exits. */
  close(): void {
    live.delete(this);
  }
}

function signalPid(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // gone already, or not ours
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
