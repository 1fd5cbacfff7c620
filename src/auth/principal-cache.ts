import type { TokenRecord } from '../db/db.js';
import type { Principal } from './principal.js';

/**
 * How long a principal found by its token is used, while the db's auth generation (Db.authGeneration,
 * read by every request) stays the same: a change that can alter it (token deleted, user disabled,
 * deleted or made admin or not, membership changed), made by any process, ends it at once. The bound
 * is a backstop for a process that died between such a change and moving the generation.
 */
export const PRINCIPAL_TTL_MS = 5_000;
/** Tokens kept at most; past this the oldest are forgotten (a bound on memory, not a rule). */
const MAX_ENTRIES = 10_000;

interface Entry {
  token: TokenRecord;
  principal: Principal;
  /** Db.authGeneration read before the token was looked up. */
  generation: string;
  at: number;
}

/**
 * Principals of valid tokens, by token hash, for PRINCIPAL_TTL_MS and while the db's auth
 * generation stays. Only tokens that authenticated are kept: a wrong secret always reaches the db.
 * Expiry and the Basic user name are checked by the caller on every use.
 */
export class PrincipalCache {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly now: () => number = Date.now) {}

  /** The entry for a token hash, if still valid at `generation` (the db's current one). */
  get(tokenHash: string, generation: string): Entry | null {
    const e = this.entries.get(tokenHash);
    if (!e) return null;
    if (e.generation !== generation || this.now() - e.at >= PRINCIPAL_TTL_MS) {
      this.entries.delete(tokenHash);
      return null;
    }
    return e;
  }

  /** Keeps a principal found with the db at `generation` (read before the lookup began). */
  set(tokenHash: string, token: TokenRecord, principal: Principal, generation: string): void {
    this.entries.delete(tokenHash);
    this.entries.set(tokenHash, { token, principal, generation, at: this.now() });
    if (this.entries.size > MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value!);
  }
}
