import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };

/**
 * The root logger. Secrets never reach the output: auth headers and tokens are redacted at the root.
 * `json` (the default) writes one JSON object a line, for machines; `pretty` writes readable lines
 * for people at a terminal (PACKHUB_LOG_FORMAT=pretty).
 */
export function createLogger(level: string, destination?: NodeJS.WritableStream, format: 'json' | 'pretty' = 'json'): Logger {
  const out =
    format === 'pretty'
      ? pretty({ destination: destination ?? process.stdout, colorize: !destination && process.stdout.isTTY, translateTime: 'HH:MM:ss', ignore: 'pid,hostname,service', singleLine: true, sync: true })
      : destination;
  return pino(
    {
      level,
      base: { service: 'packhub' },
      redact: {
        paths: ['req.headers.authorization', 'headers.authorization', 'token', 'password', '*.token', '*.password'],
        censor: '[redacted]',
      },
    },
    out as pino.DestinationStream | undefined,
  );
}
