import { createServer } from "node:http";
import { createApp } from "./app.js";
import { ConfigError, loadConfig, type Config } from "./config.js";
import { createLogger } from "./logger.js";
import { createRuntime } from "./runtime.js";
import { createGracefulShutdown, type GracefulShutdown } from "./shutdown.js";

function main(): void {
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      createLogger("info").fatal({ problems: err.problems }, err.message);
      process.exit(1);
    }
    throw err;
  }

  const logger = createLogger(config.logLevel);
  const runtime = createRuntime(config, logger);
  // The closure only runs on requests, after `lifecycle` is initialised below.
  const app = createApp({ ...runtime.deps, isShuttingDown: () => lifecycle.isShuttingDown() });
  const server = createServer(app);
  const lifecycle: GracefulShutdown = createGracefulShutdown({
    server,
    closers: runtime.closers,
    timeoutMs: config.shutdownTimeoutMs,
    logger,
  });
  const stop = (reason: string, exitCode: number) => {
    void lifecycle
      .shutdown(reason)
      .then((clean) => process.exit(clean ? exitCode : Math.max(exitCode, 1)));
  };

  server.on("error", (err) => {
    logger.fatal({ err: err.message }, "http server error");
    stop("server error", 1);
  });
  server.listen(config.port, config.host, () => {
    logger.info(
      { host: config.host, port: config.port, version: config.version.version, sha: config.version.sha },
      "neosale-backend listening",
    );
  });

  process.once("SIGTERM", () => stop("SIGTERM", 0));
  process.once("SIGINT", () => stop("SIGINT", 0));
  process.on("unhandledRejection", (reason) => {
    logger.fatal({ err: reason instanceof Error ? reason.message : String(reason) }, "unhandled rejection");
    stop("unhandled rejection", 1);
  });
  process.on("uncaughtException", (err) => {
    logger.fatal({ err: err.message, stack: err.stack }, "uncaught exception");
    stop("uncaught exception", 1);
  });
}

main();
