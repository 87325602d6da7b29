import { createClient } from "redis";
import type { Logger } from "../logger.js";
import type { Cache } from "./types.js";

export type Redis = ReturnType<typeof createClient>;

export function createRedis(url: string, logger: Logger): Redis {
  const client = createClient({
    url,
    // Fail commands immediately while disconnected instead of queueing them:
    // the cache is optional and callers fall back to the database.
    disableOfflineQueue: true,
    socket: {
      connectTimeout: 2000,
      reconnectStrategy: (retries: number) => Math.min(100 * 2 ** Math.min(retries, 5), 3000),
    },
  });
  // Log transitions only, so a Redis outage does not flood the logs on every retry.
  let healthy = true;
  client.on("ready", () => {
    if (!healthy) logger.info("redis connection restored");
    healthy = true;
  });
  client.on("error", (err: Error) => {
    if (healthy) logger.warn({ err: err.message }, "redis unavailable; cache disabled until it reconnects");
    healthy = false;
  });
  return client;
}

/** Starts connecting without blocking startup; the client keeps reconnecting in the background. */
export function connectRedisInBackground(client: Redis, logger: Logger): void {
  client.connect().catch((err: unknown) => {
    logger.warn({ err: err instanceof Error ? err.message : String(err) }, "redis connect failed");
  });
}

export class RedisCache implements Cache {
  constructor(private readonly client: Redis) {}

  async get(key: string): Promise<string | null> {
    const value = await this.client.get(key);
    return typeof value === "string" ? value : null;
  }

  async set(key: string, value: string, ttlSeconds: number): Promise<void> {
    await this.client.set(key, value, { EX: ttlSeconds });
  }
}

export async function pingRedis(client: Redis): Promise<void> {
  const reply = await client.ping();
  if (reply !== "PONG") throw new Error(`unexpected PING reply: ${String(reply)}`);
}

/** Closes politely, and forcibly if the server does not answer (e.g. while reconnecting). */
export async function closeRedis(client: Redis, timeoutMs = 2000): Promise<void> {
  if (!client.isOpen) return;
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      client.close(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error("redis close timed out")), timeoutMs);
      }),
    ]);
  } catch {
    client.destroy();
  } finally {
    clearTimeout(timer);
  }
}
