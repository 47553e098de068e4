// How a policy's paths (allow_write, deny_write, deny_read) match a workspace-relative file.

/** Whether a workspace-relative `file` lies under a policy path (`dir/`, `dir/**` or an exact file). */
export function under(file: string, pattern: string): boolean {
  const base = pattern
    .replace(/\/\*\*$/, '')
    .replace(/\/+$/, '')
    .replace(/^\.\//, '');
  return base === '' || base === '.' || file === base || file.startsWith(`${base}/`);
}
