// Git's smart HTTP protocol for the scripted forge's repositories: `git http-backend` (shipped with git) run
// as a CGI program, so clone, fetch and push to `{forge}/{owner}/{repo}.git` are real git over HTTP.
// Authentication is GitHub's: HTTP Basic with the token as password (user `x-access-token`).

import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';

export interface CgiRequest {
  method: string;
  /** the path below the project root: /{owner}/{repo}.git/info/refs */
  pathInfo: string;
  query: string;
  contentType?: string;
  contentEncoding?: string;
  remoteUser: string;
  body?: Readable;
}

export interface CgiAnswer {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

/** Runs `git http-backend` for one request; the repositories live under `projectRoot`. */
export function gitHttpBackend(projectRoot: string, request: CgiRequest): Promise<CgiAnswer> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', ['http-backend'], {
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        GIT_PROJECT_ROOT: projectRoot,
        GIT_HTTP_EXPORT_ALL: '1',
        REQUEST_METHOD: request.method,
        PATH_INFO: request.pathInfo,
        QUERY_STRING: request.query,
        CONTENT_TYPE: request.contentType ?? '',
        ...(request.contentEncoding ? { HTTP_CONTENT_ENCODING: request.contentEncoding } : {}),
        // receive-pack (push) is enabled for an authenticated user
        REMOTE_USER: request.remoteUser,
        REMOTE_ADDR: '127.0.0.1',
        GIT_HTTP_MAX_REQUEST_BUFFER: '100M',
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', reject);
    child.on('close', (code) => {
      const raw = Buffer.concat(out);
      const split = raw.indexOf('\r\n\r\n');
      if (split < 0) {
        const message = Buffer.concat(err).toString('utf8').trim();
        return reject(new Error(`git http-backend exited ${code} without an answer: ${message}`));
      }
      const headers: Record<string, string> = {};
      let status = 200;
      for (const line of raw.subarray(0, split).toString('latin1').split('\r\n')) {
        const at = line.indexOf(':');
        const name = line.slice(0, at).trim().toLowerCase();
        const value = line.slice(at + 1).trim();
        if (name === 'status') status = Number.parseInt(value, 10);
        else headers[name] = value;
      }
      resolve({ status, headers, body: raw.subarray(split + 4) });
    });
    if (request.body) request.body.pipe(child.stdin);
    else child.stdin.end();
  });
}

/** The git paths the smart protocol uses: what to run, or undefined for anything else. */
export function smartPath(rest: string, method: string, service: string | undefined) {
  if (
    method === 'GET' &&
    rest === 'info/refs' &&
    (service === 'git-upload-pack' || service === 'git-receive-pack')
  ) {
    return { service, write: service === 'git-receive-pack' };
  }
  if (method === 'POST' && (rest === 'git-upload-pack' || rest === 'git-receive-pack')) {
    return { service: rest, write: rest === 'git-receive-pack' };
  }
  return undefined;
}
