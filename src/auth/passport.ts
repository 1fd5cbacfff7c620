import type { RequestHandler } from 'express';
import { Passport } from 'passport';
import { BasicStrategy } from 'passport-http';
import { AppError } from '../core/errors.js';
import type { Db } from '../db/db.js';
import { authenticateToken, principalFor, type Principal } from './principal.js';
import { sessionUser } from './session.js';

async function sessionPrincipal(db: Db, cookies: string | undefined): Promise<Principal | null> {
  const s = await sessionUser(db, cookies);
  return s ? principalFor(db, s.user, 'write', 0) : null;
}

/** `Authorization: Bearer <token>` (the HF clients'). */
export const BEARER = /^Bearer\s+(\S+)\s*$/i;

/** Whose the token of a Bearer header is; a token that does not authenticate is an `InvalidToken` 401, never anonymous. */
export async function bearerPrincipal(db: Db, token: string): Promise<Principal> {
  const p = await authenticateToken(db, null, token);
  if (!p) throw new AppError('unauthenticated', 'InvalidToken', 'Invalid credentials in Authorization header');
  return p;
}

/**
 * Authentication for every surface: HTTP Basic `username:token` (git, git-lfs) and
 * `Authorization: Bearer <token>` (HF clients). No header means anonymous; a header with bad
 * credentials is a 401, never silently anonymous.
 */
export function createAuthenticate(db: Db, secret: string): RequestHandler {
  const passport = new Passport();
  passport.use(
    new BasicStrategy((username, secret, done) => {
      authenticateToken(db, username, secret).then((p) => done(null, p ?? false), done);
    }),
  );
  return (req, res, next) => {
    res.locals.principal = null;
    const header = req.headers.authorization;
    if (!header) {
      // The web UI: its session cookie counts only with the UI's own header, which a cross-site
      // form or image cannot send (so the cookie cannot be used for request forgery).
      if (req.headers['x-packhub-ui'] === '1') {
        sessionPrincipal(db, req.headers.cookie).then((p) => {
          res.locals.principal = p;
          next();
        }, next);
        return;
      }
      return next();
    }
    const bearer = BEARER.exec(header);
    if (bearer) {
      bearerPrincipal(db, bearer[1]!).then((p) => {
        res.locals.principal = p;
        next();
      }, next);
      return;
    }
    if (!/^Basic\s/i.test(header)) return next(new AppError('unauthenticated', 'Unauthenticated', 'unsupported Authorization scheme'));
    passport.authenticate('basic', { session: false }, (err: unknown, principal: Principal | false) => {
      if (err) return next(err);
      if (!principal) return next(new AppError('unauthenticated', 'InvalidToken', 'Invalid username or token'));
      res.locals.principal = principal;
      next();
    })(req, res, next);
  };
}
