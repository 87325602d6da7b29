import request from "supertest";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createApp } from "../../src/app.js";
import { PRODUCTS_CACHE_KEY } from "../../src/http/routes.js";
import { createLogger } from "../../src/logger.js";
import { createRuntime, type Runtime } from "../../src/runtime.js";
import { closedPort, integrationEnv, sql, testConfig, withPort } from "./support.js";

const { databaseUrl } = integrationEnv();
const logger = createLogger("silent");
const runtimes: Runtime[] = [];

function build(overrides: NodeJS.ProcessEnv = {}) {
  const runtime = createRuntime(testConfig(overrides), logger);
  runtimes.push(runtime);
  return { runtime, app: createApp(runtime.deps) };
}

async function waitForRedis(runtime: Runtime) {
  for (let i = 0; i < 100 && !runtime.redis.isReady; i++) await new Promise((r) => setTimeout(r, 20));
  expect(runtime.redis.isReady).toBe(true);
}

afterAll(async () => {
  for (const r of runtimes) for (const c of r.closers) await c.close();
});

describe("against PostgreSQL and Redis", () => {
  let main: ReturnType<typeof build>;

  beforeAll(async () => {
    main = build({ PRODUCTS_CACHE_TTL_SECONDS: "120" });
    await waitForRedis(main.runtime);
  });

  beforeEach(async () => {
    await sql(databaseUrl, 'TRUNCATE "Lead" RESTART IDENTITY');
    await main.runtime.redis.del(PRODUCTS_CACHE_KEY);
  });

  it("GET /ready is 200 with both dependencies up", async () => {
    const res = await request(main.app).get("/ready").expect(200);
    expect(res.body).toEqual({ status: "ready", checks: { database: "ok", redis: "ok" } });
  });

  it("stores a lead and rejects the same email again with 409", async () => {
    const created = await request(main.app)
      .post("/api/leads")
      .send({ name: "Ana", email: "Ana@Example.com", company: "Acme", message: "Hola" })
      .expect(201);
    const rows = await sql<{ id: number; email: string; company: string }>(
      databaseUrl,
      'SELECT id, email, company FROM "Lead"',
    );
    expect(rows).toEqual([{ id: created.body.id, email: "ana@example.com", company: "Acme" }]);

    const dup = await request(main.app).post("/api/leads").send({ name: "Ana 2", email: "ana@example.com" }).expect(409);
    expect(dup.body).toMatchObject({ error: "duplicate_lead", field: "email" });
    expect(await sql(databaseUrl, 'SELECT 1 FROM "Lead"')).toHaveLength(1);
  });

  it("lets the unique index decide between concurrent duplicates", async () => {
    const attempts = await Promise.all(
      Array.from({ length: 5 }, () => request(main.app).post("/api/leads").send({ name: "Race", email: "race@example.com" })),
    );
    expect(attempts.map((r) => r.status).sort()).toEqual([201, 409, 409, 409, 409]);
  });

  it("rejects invalid input before it reaches the database", async () => {
    const res = await request(main.app).post("/api/leads").send({ name: "X", email: "nope", extra: 1 }).expect(400);
    expect(res.body.field).toBe("extra");
    expect(await sql(databaseUrl, 'SELECT 1 FROM "Lead"')).toHaveLength(0);
  });

  it("pages leads newest first", async () => {
    for (let i = 0; i < 12; i++) {
      await request(main.app).post("/api/leads").send({ name: `L${i}`, email: `l${i}@example.com` }).expect(201);
    }
    const p1 = await request(main.app).get("/api/leads?page=1&pageSize=5").expect(200);
    expect(p1.body).toMatchObject({ total: 12, page: 1, pageSize: 5 });
    expect(p1.body.items.map((l: { name: string }) => l.name)).toEqual(["L11", "L10", "L9", "L8", "L7"]);
    const p3 = await request(main.app).get("/api/leads?page=3&pageSize=5").expect(200);
    expect(p3.body.items.map((l: { name: string }) => l.name)).toEqual(["L1", "L0"]);
  });

  it("serves products from the database, then from Redis with the configured TTL", async () => {
    const dbRows = await sql<{ sku: string }>(databaseUrl, 'SELECT sku FROM "Product" ORDER BY id');
    expect(dbRows.length).toBeGreaterThan(0);

    const miss = await request(main.app).get("/api/products").expect(200);
    expect(miss.headers["x-cache"]).toBe("MISS");
    expect(miss.body.items.map((p: { sku: string }) => p.sku)).toEqual(dbRows.map((r) => r.sku));

    const hit = await request(main.app).get("/api/products").expect(200);
    expect(hit.headers["x-cache"]).toBe("HIT");
    expect(hit.body).toEqual(miss.body);
    const ttl = await main.runtime.redis.ttl(PRODUCTS_CACHE_KEY);
    expect(ttl).toBeGreaterThan(100);
    expect(ttl).toBeLessThanOrEqual(120);
  });
});

describe("with a dependency down", () => {
  it("GET /ready is 503 naming the database when PostgreSQL is unreachable; /health stays 200", async () => {
    const { app, runtime } = build({ DATABASE_URL: withPort(databaseUrl, await closedPort()) });
    // Only the database is down: let Redis connect first, or a slow first
    // connection (service DNS in a CI container) would fail /ready too.
    await waitForRedis(runtime);
    const started = Date.now();
    const res = await request(app).get("/ready").expect(503);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(res.body.failed).toEqual(["database"]);
    expect(res.body.checks.database).not.toBe("ok");
    await request(app).get("/health").expect(200);
  });

  it("degrades to the database when Redis is unreachable, and /ready names redis", async () => {
    const { app } = build({ REDIS_URL: `redis://127.0.0.1:${await closedPort()}` });
    for (let i = 0; i < 2; i++) {
      const res = await request(app).get("/api/products").expect(200);
      expect(res.headers["x-cache"]).toBe("MISS");
      expect(res.body.items.length).toBeGreaterThan(0);
    }
    const ready = await request(app).get("/ready").expect(503);
    expect(ready.body.failed).toEqual(["redis"]);
    await request(app).get("/health").expect(200);
  });
});
