// Who is calling the scripted forge: a token (personal or an App installation's), or a GitHub App proving
// itself with a JWT signed by its private key (RS256, checked for real against the App's public key).

import { createPublicKey, type KeyObject, randomBytes } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader, errors as joseErrors, jwtVerify } from 'jose';

/** Who made a call, as tests see it (never the token itself). */
export type Identity =
  | { kind: 'token'; login: string; write: boolean }
  | { kind: 'installation'; login: string; write: boolean; appId: number; installationId: number }
  | { kind: 'app'; login: string; appId: number };

export interface AppRegistration {
  appId: number;
  /** the App's public key (PEM), the pair of the private key the runtime signs with */
  publicKey: string | KeyObject;
  /** the bot's login is `${slug}[bot]` */
  slug?: string;
}

export class AuthError extends Error {
  constructor(
    readonly status: 401 | 403 | 404,
    message: string,
  ) {
    super(message);
  }
}

interface TokenEntry {
  identity: Identity;
  expiresAtMs?: number;
}

const INSTALLATION_TOKEN_MS = 60 * 60_000;

export class Auth {
  private readonly tokens = new Map<string, TokenEntry>();
  private readonly apps = new Map<number, { key: KeyObject; slug: string }>();
  private readonly installations = new Map<number, { appId: number; write: boolean }>();

  addToken(token: string, options: { login: string; write?: boolean }): void {
    this.tokens.set(token, {
      identity: { kind: 'token', login: options.login, write: options.write ?? true },
    });
  }

  addApp(app: AppRegistration): void {
    const key = typeof app.publicKey === 'string' ? createPublicKey(app.publicKey) : app.publicKey;
    this.apps.set(app.appId, { key, slug: app.slug ?? `app-${app.appId}` });
  }

  addInstallation(installationId: number, appId: number, options: { write?: boolean } = {}): void {
    if (!this.apps.has(appId))
      throw new Error(`installation ${installationId}: app ${appId} is not registered`);
    this.installations.set(installationId, { appId, write: options.write ?? true });
  }

  /** The identity behind `Authorization: token X` / `Bearer X` (a token, not a JWT). */
  byToken(header: string | undefined, now = Date.now()): Identity {
    const token = parseAuthorization(header);
    if (!token) throw new AuthError(401, 'Requires authentication');
    const entry = this.tokens.get(token);
    if (!entry || (entry.expiresAtMs !== undefined && entry.expiresAtMs <= now)) {
      throw new AuthError(401, 'Bad credentials');
    }
    return entry.identity;
  }

  /** The token behind HTTP Basic auth, as git sends it (user `x-access-token`, the token as password). */
  byBasic(header: string | undefined): Identity {
    const match = /^basic\s+(\S+)$/i.exec(header ?? '');
    if (!match) throw new AuthError(401, 'Requires authentication');
    const decoded = Buffer.from(match[1], 'base64').toString('utf8');
    const password = decoded.slice(decoded.indexOf(':') + 1);
    return this.byToken(`token ${password}`);
  }

  /** The App behind `Authorization: Bearer JWT`: RS256, signed by the App's key, `iss` the app id, sane times. */
  async byJwt(header: string | undefined, nowMs = Date.now()): Promise<Identity & { kind: 'app' }> {
    const jwt = parseAuthorization(header);
    if (!jwt) throw new AuthError(401, 'Requires authentication');
    let iss: unknown;
    try {
      if (decodeProtectedHeader(jwt).alg !== 'RS256') throw new Error('alg');
      iss = decodeJwt(jwt).iss;
    } catch {
      throw new AuthError(401, 'A JSON web token could not be decoded');
    }
    const appId = Number(iss);
    const app = this.apps.get(appId);
    if (!app) throw new AuthError(401, 'Integration not found');
    const now = Math.floor(nowMs / 1000);
    let payload: { iat?: unknown; exp?: unknown };
    try {
      ({ payload } = await jwtVerify(jwt, app.key, { algorithms: ['RS256'], currentDate: new Date(nowMs) }));
    } catch (err) {
      if (err instanceof joseErrors.JWTExpired) {
        throw new AuthError(
          401,
          "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires",
        );
      }
      throw new AuthError(401, 'A JSON web token could not be decoded');
    }
    if (typeof payload.exp !== 'number') {
      throw new AuthError(401, "'Expiration time' claim ('exp') must be a numeric value");
    }
    if (!Number.isInteger(payload.iat) || (payload.iat as number) > now + 60) {
      throw new AuthError(
        401,
        "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued",
      );
    }
    if (payload.exp > now + 600 + 60 || payload.exp - (payload.iat as number) > 660) {
      throw new AuthError(401, "'Expiration time' claim ('exp') is too far in the future");
    }
    return { kind: 'app', appId, login: `${app.slug}[bot]` };
  }

  /** POST /app/installations/{id}/access_tokens: a new installation token, valid for an hour. */
  issueInstallationToken(app: { appId: number }, installationId: number, nowMs = Date.now()) {
    const installation = this.installations.get(installationId);
    if (!installation || installation.appId !== app.appId) throw new AuthError(404, 'Not Found');
    const token = `ghs_${randomBytes(18).toString('base64url')}`;
    const slug = this.apps.get(app.appId)?.slug ?? `app-${app.appId}`;
    const expiresAtMs = nowMs + INSTALLATION_TOKEN_MS;
    this.tokens.set(token, {
      identity: {
        kind: 'installation',
        login: `${slug}[bot]`,
        write: installation.write,
        appId: app.appId,
        installationId,
      },
      expiresAtMs,
    });
    return { token, expiresAt: new Date(expiresAtMs).toISOString().replace(/\.\d{3}Z$/, 'Z') };
  }
}

function parseAuthorization(header: string | undefined): string | undefined {
  const match = /^(?:token|bearer)\s+(\S+)$/i.exec(header?.trim() ?? '');
  return match?.[1];
}
