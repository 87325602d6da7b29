import type { Server } from "node:http";
import type { Logger } from "./logger.js";

export interface Closer {
  name: string;
  close: () => Promise<unknown>;
}

export interface GracefulShutdown {
  isShuttingDown: () => boolean;
  /** Idempotent: later calls return the first call's promise. Resolves true when everything closed in time. */
  shutdown: (reason: string) => Promise<boolean>;
}

/**
 * Stop accepting connections, let in-flight requests finish, then close the
 * dependencies in order. After `timeoutMs` remaining connections are cut.
 */
export function createGracefulShutdown(opts: {
  server: Server;
  closers: Closer[];
  timeoutMs: number;
  logger: Logger;
}): GracefulShutdown {
  const { server, logger } = opts;
  let shuttingDown = false;
  let done: Promise<boolean> | undefined;

  // Keep-alive sockets would otherwise keep the server open after their last
  // response; prepend so the header is set before any route answers.
  server.prependListener("request", (_req, res) => {
    if (shuttingDown) res.setHeader("Connection", "close");
    res.on("finish", () => {
      if (shuttingDown) setImmediate(() => server.closeIdleConnections());
    });
  });

  const closeServer = () =>
    new Promise<void>((resolve) => {
      if (!server.listening) {
        resolve();
        return;
      }
      server.close(() => resolve());
      server.closeIdleConnections();
    });

  async function run(reason: string): Promise<boolean> {
    shuttingDown = true;
    const started = Date.now();
    logger.info({ reason }, "shutdown started: no longer accepting connections");
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), opts.timeoutMs);
    });
    let clean = true;
    try {
      if ((await Promise.race([closeServer(), timedOut])) === "timeout") {
        clean = false;
        logger.warn({ timeoutMs: opts.timeoutMs }, "in-flight requests did not finish in time; closing connections");
        server.closeAllConnections();
      }
      for (const closer of opts.closers) {
        try {
          if ((await Promise.race([closer.close(), timedOut])) === "timeout") {
            clean = false;
            logger.warn({ dependency: closer.name }, "closing dependency timed out");
          }
        } catch (err) {
          clean = false;
          logger.error({ dependency: closer.name, err: err instanceof Error ? err.message : String(err) }, "closing dependency failed");
        }
      }
    } finally {
      clearTimeout(timer);
    }
    logger.info({ ms: Date.now() - started, clean }, "shutdown complete");
    return clean;
  }

  return {
    isShuttingDown: () => shuttingDown,
    shutdown: (reason) => (done ??= run(reason)),
  };
}
