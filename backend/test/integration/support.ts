import { createServer } from "node:net";
import pg from "pg";
import { loadConfig, type Config } from "../../src/config.js";

/** DATABASE_URL and REDIS_URL must point at real servers (see scripts/test-services.sh). */
export function integrationEnv(): { databaseUrl: string; redisUrl: string } {
  const databaseUrl = process.env.DATABASE_URL;
  const redisUrl = process.env.REDIS_URL;
  if (!databaseUrl || !redisUrl) {
    throw new Error("Integration tests need DATABASE_URL and REDIS_URL (eval \"$(scripts/test-services.sh start)\")");
  }
  return { databaseUrl, redisUrl };
}

export function testConfig(overrides: NodeJS.ProcessEnv = {}): Config {
  const { databaseUrl, redisUrl } = integrationEnv();
  return loadConfig({
    DATABASE_URL: databaseUrl,
    REDIS_URL: redisUrl,
    LOG_LEVEL: "silent",
    READY_TIMEOUT_MS: "1500",
    RATE_LIMIT_MAX: "10000",
    ...overrides,
  });
}

/** A local port with nothing listening on it. */
export async function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const address = srv.address();
      const port = typeof address === "object" && address ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export function withPort(url: string, port: number): string {
  const u = new URL(url);
  u.hostname = "127.0.0.1";
  u.port = String(port);
  return u.toString();
}

export async function sql<T extends pg.QueryResultRow = pg.QueryResultRow>(
  databaseUrl: string,
  text: string,
  values: unknown[] = [],
): Promise<T[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    return (await client.query<T>(text, values)).rows;
  } finally {
    await client.end();
  }
}
