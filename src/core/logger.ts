import { pino, type Logger } from 'pino';

export type { Logger };

/** The root logger. Secrets never reach the output: auth headers and tokens are redacted at the root. */
export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
      base: { service: 'packhub' },
      redact: {
        paths: ['req.headers.authorization', 'headers.authorization', 'token', 'password', '*.token', '*.password'],
        censor: '[redacted]',
      },
    },
    destination as pino.DestinationStream | undefined,
  );
}
