import { pino, type DestinationStream, type Logger } from "pino";

export type { Logger };

/** JSON logs on stdout. Secrets never reach the logger: bodies and headers are not serialized. */
export function createLogger(level: string = "info", destination?: DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    level,
    base: { service: "neosale-backend" },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    // Defence in depth in case a caller logs a config or headers object.
    redact: {
      paths: ["databaseUrl", "redisUrl", "leadsApiToken", "*.authorization", "*.cookie", "password", "*.password"],
      censor: "[redacted]",
    },
  };
  return destination ? pino(options, destination) : pino(options);
}
