import type { AppDeps } from "./app.js";
import type { Config } from "./config.js";
import type { Logger } from "./logger.js";
import { createPrisma, pingDatabase, PrismaLeadRepository, PrismaProductRepository, type Db } from "./data/prisma.js";
import { closeRedis, connectRedisInBackground, createRedis, pingRedis, RedisCache, type Redis } from "./data/redis.js";
import type { Closer } from "./shutdown.js";

export interface Runtime {
  db: Db;
  redis: Redis;
  deps: Omit<AppDeps, "isShuttingDown">;
  /** In the order they must be closed once HTTP traffic has stopped. */
  closers: Closer[];
}

/** Builds the real dependencies (PostgreSQL via Prisma, Redis) from configuration. */
export function createRuntime(config: Config, logger: Logger): Runtime {
  const db = createPrisma({
    databaseUrl: config.databaseUrl,
    poolMax: config.dbPoolMax,
    connectionTimeoutMs: Math.max(config.readyTimeoutMs, 1000),
    logger,
  });
  const redis = createRedis(config.redisUrl, logger);
  connectRedisInBackground(redis, logger);

  return {
    db,
    redis,
    deps: {
      settings: config,
      logger,
      leads: new PrismaLeadRepository(db),
      products: new PrismaProductRepository(db),
      cache: new RedisCache(redis),
      readiness: {
        database: () => pingDatabase(db),
        redis: () => pingRedis(redis),
      },
    },
    closers: [
      { name: "prisma", close: () => db.$disconnect() },
      { name: "redis", close: () => closeRedis(redis) },
    ],
  };
}
