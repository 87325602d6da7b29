import request from "supertest";
import { describe, expect, it } from "vitest";
import type { AppSettings } from "../../src/app.js";
import { PRODUCTS_CACHE_KEY } from "../../src/http/routes.js";
import { makeApp } from "./fakes.js";

const validLead = { name: "Ana García", email: "Ana.Garcia@Example.com", company: "Acme", message: "Call me" };

describe("probes", () => {
  it("GET /health answers ok with security headers and without touching dependencies", async () => {
    const failing = () => Promise.reject(new Error("down"));
    const { app } = makeApp({ readiness: { database: failing, redis: failing } });
    const res = await request(app).get("/health").expect(200);
    expect(res.body).toEqual({ status: "ok", service: "neosale-backend" });
    expect(res.headers["x-content-type-options"]).toBe("nosniff");
    expect(res.headers["x-powered-by"]).toBeUndefined();
    expect(res.headers["x-request-id"]).toMatch(/[0-9a-f-]{36}/);
  });

  it("GET /ready is 200 when every check passes", async () => {
    const { app } = makeApp();
    const res = await request(app).get("/ready").expect(200);
    expect(res.body).toEqual({ status: "ready", checks: { database: "ok", redis: "ok" } });
  });

  it("GET /ready is 503 naming the failed dependency while /health stays 200", async () => {
    const { app } = makeApp({
      readiness: { database: () => Promise.reject(new Error("ECONNREFUSED")), redis: () => Promise.resolve("PONG") },
    });
    const res = await request(app).get("/ready").expect(503);
    expect(res.body.failed).toEqual(["database"]);
    expect(res.body.reason).toContain("database");
    expect(res.body.checks).toEqual({ database: "error", redis: "ok" });
    await request(app).get("/health").expect(200);
  });

  it("GET /ready reports a hung check as a timeout within the configured bound", async () => {
    const { app } = makeApp({
      settings: { readyTimeoutMs: 100 },
      readiness: { database: () => Promise.resolve(), redis: () => new Promise(() => {}) },
    });
    const started = Date.now();
    const res = await request(app).get("/ready").expect(503);
    expect(Date.now() - started).toBeLessThan(1500);
    expect(res.body.failed).toEqual(["redis"]);
    expect(res.body.checks.redis).toBe("timeout");
  });

  it("GET /ready is 503 once shutdown has started", async () => {
    const { app } = makeApp({ isShuttingDown: () => true });
    const res = await request(app).get("/ready").expect(503);
    expect(res.body.reason).toBe("shutting down");
  });

  it("GET /version returns the build metadata", async () => {
    const { app } = makeApp();
    const res = await request(app).get("/version").expect(200);
    expect(res.body).toEqual({ sha: "abc123", buildTime: "2026-01-01T00:00:00Z", version: "1.2.3" });
  });

  it("unknown routes are JSON 404s", async () => {
    const { app } = makeApp();
    const res = await request(app).get("/nope").expect(404);
    expect(res.body.error).toBe("not_found");
  });
});

describe("POST /api/leads", () => {
  it("creates a lead, trimming and lower-casing the email", async () => {
    const { app, leads } = makeApp();
    const res = await request(app)
      .post("/api/leads")
      .send({ ...validLead, name: "  Ana García  " })
      .expect(201);
    expect(res.body).toMatchObject({ id: 1, name: "Ana García", email: "ana.garcia@example.com", company: "Acme" });
    expect(res.headers.location).toBe("/api/leads/1");
    expect(leads.rows).toHaveLength(1);
  });

  it("treats empty optional fields as absent", async () => {
    const { app } = makeApp();
    const res = await request(app)
      .post("/api/leads")
      .send({ name: "Bo", email: "bo@example.com", company: "", message: null })
      .expect(201);
    expect(res.body).toMatchObject({ company: null, message: null });
  });

  it("rejects a duplicate email (any case) with 409", async () => {
    const { app, leads } = makeApp();
    await request(app).post("/api/leads").send(validLead).expect(201);
    const res = await request(app)
      .post("/api/leads")
      .send({ name: "Other", email: "ANA.GARCIA@example.com" })
      .expect(409);
    expect(res.body).toMatchObject({ error: "duplicate_lead", field: "email" });
    expect(leads.rows).toHaveLength(1);
  });

  it.each([
    [{ email: "a@example.com" }, "name", /name/],
    [{ name: "", email: "a@example.com" }, "name", /name must not be empty/],
    [{ name: "A" }, "email", /email/],
    [{ name: "A", email: "not-an-email" }, "email", /valid email/],
    [{ name: "A", email: 42 }, "email", /email/],
    [{ name: "A", email: "a@example.com", company: "x".repeat(121) }, "company", /at most 120/],
    [{ name: "A", email: "a@example.com", message: "x".repeat(2001) }, "message", /at most 2000/],
  ])("rejects %j with 400 naming %s", async (body, field, message) => {
    const { app, leads } = makeApp();
    const res = await request(app).post("/api/leads").send(body).expect(400);
    expect(res.body.error).toBe("validation_error");
    expect(res.body.field).toBe(field);
    expect(res.body.message).toMatch(message);
    expect(leads.rows).toHaveLength(0);
  });

  it("rejects unknown fields, naming them", async () => {
    const { app, leads } = makeApp();
    const res = await request(app)
      .post("/api/leads")
      .send({ ...validLead, isAdmin: true, nmae: "x" })
      .expect(400);
    expect(res.body.message).toContain("isAdmin");
    expect(res.body.message).toContain("nmae");
    expect(["isAdmin", "nmae"]).toContain(res.body.field);
    expect(leads.rows).toHaveLength(0);
  });

  it("rejects a non-object JSON body with 400", async () => {
    const { app } = makeApp();
    const res = await request(app).post("/api/leads").send([validLead]).expect(400);
    expect(res.body.message).toMatch(/JSON object/);
  });

  it("answers malformed JSON with a 400 JSON message, not a 500", async () => {
    const { app } = makeApp();
    const res = await request(app)
      .post("/api/leads")
      .set("Content-Type", "application/json")
      .send('{"name": "Ana", "email": ')
      .expect(400);
    expect(res.body).toEqual({ error: "invalid_json", message: "Request body is not valid JSON" });
  });

  it("answers a body over the limit with 413 and a clear message", async () => {
    const { app, leads } = makeApp();
    const res = await request(app)
      .post("/api/leads")
      .send({ ...validLead, message: "x".repeat(17 * 1024) })
      .expect(413);
    expect(res.body.error).toBe("payload_too_large");
    expect(res.body.message).toContain("16kb");
    expect(leads.rows).toHaveLength(0);
  });

  it("requires a JSON content type", async () => {
    const { app } = makeApp();
    await request(app).post("/api/leads").type("form").send("name=A&email=a@example.com").expect(415);
  });

  it("hides internal errors behind a generic 500", async () => {
    const { app } = makeApp({
      leads: {
        create: () => Promise.reject(new Error("connection string postgres://secret@db")),
        list: () => Promise.reject(new Error("boom")),
      },
    });
    const res = await request(app).post("/api/leads").send(validLead).expect(500);
    expect(res.body).toEqual({ error: "internal_error", message: "Internal server error" });
  });
});

describe("GET /api/leads", () => {
  async function seeded(count: number, settings: Partial<AppSettings> = {}) {
    const ctx = makeApp({ settings });
    for (let i = 0; i < count; i++) {
      await ctx.leads.create({ name: `Lead ${i}`, email: `lead${i}@example.com` });
    }
    return ctx;
  }

  it("pages newest first with totals", async () => {
    const { app } = await seeded(25);
    const first = await request(app).get("/api/leads?page=1&pageSize=10").expect(200);
    expect(first.body).toMatchObject({ total: 25, page: 1, pageSize: 10 });
    expect(first.body.items).toHaveLength(10);
    expect(first.body.items[0].email).toBe("lead24@example.com");
    const last = await request(app).get("/api/leads?page=3&pageSize=10").expect(200);
    expect(last.body.items.map((l: { email: string }) => l.email)).toEqual(
      [4, 3, 2, 1, 0].map((i) => `lead${i}@example.com`),
    );
    const beyond = await request(app).get("/api/leads?page=4&pageSize=10").expect(200);
    expect(beyond.body).toMatchObject({ items: [], total: 25, page: 4 });
  });

  it("defaults to page 1 of 20", async () => {
    const { app } = await seeded(25);
    const res = await request(app).get("/api/leads").expect(200);
    expect(res.body).toMatchObject({ page: 1, pageSize: 20, total: 25 });
    expect(res.body.items).toHaveLength(20);
  });

  it.each([
    ["pageSize=0", "pageSize"],
    ["pageSize=101", "pageSize"],
    ["pageSize=abc", "pageSize"],
    ["page=0", "page"],
    ["page=-1", "page"],
    ["page=1.5", "page"],
    ["page=1&page=2", "page"],
  ])("rejects ?%s with 400 naming %s", async (query, field) => {
    const { app } = await seeded(1);
    const res = await request(app).get(`/api/leads?${query}`).expect(400);
    expect(res.body.field).toBe(field);
  });

  it("requires the bearer token when LEADS_API_TOKEN is set", async () => {
    const { app } = await seeded(2, { leadsApiToken: "s3cret-token" });
    await request(app).get("/api/leads").expect(401);
    await request(app).get("/api/leads").set("Authorization", "Bearer wrong").expect(401);
    const res = await request(app).get("/api/leads").set("Authorization", "Bearer s3cret-token").expect(200);
    expect(res.body.total).toBe(2);
    // Submitting stays public: it is the contact form.
    await request(app).post("/api/leads").send(validLead).expect(201);
  });

  it("compresses large responses", async () => {
    const { app } = await seeded(40);
    const res = await request(app).get("/api/leads?pageSize=40").set("Accept-Encoding", "gzip").expect(200);
    expect(res.headers["content-encoding"]).toBe("gzip");
    expect(res.body.items).toHaveLength(40);
  });
});

describe("GET /api/products", () => {
  it("serves from the repository on a MISS, then from the cache on a HIT", async () => {
    const { app, products, cache } = makeApp({ settings: { productsCacheTtlSeconds: 42 } });
    const miss = await request(app).get("/api/products").expect(200);
    expect(miss.headers["x-cache"]).toBe("MISS");
    expect(miss.body.items.map((p: { sku: string }) => p.sku)).toEqual(["A-1", "B-2"]);
    expect(cache.store.get(PRODUCTS_CACHE_KEY)?.ttlSeconds).toBe(42);

    const hit = await request(app).get("/api/products").expect(200);
    expect(hit.headers["x-cache"]).toBe("HIT");
    expect(hit.headers["content-type"]).toMatch(/application\/json/);
    expect(hit.body).toEqual(miss.body);
    expect(products.calls).toBe(1);
  });

  it("falls back to the database when the cache fails", async () => {
    const { app, products, cache } = makeApp();
    cache.mode = "fail";
    for (let i = 0; i < 2; i++) {
      const res = await request(app).get("/api/products").expect(200);
      expect(res.headers["x-cache"]).toBe("MISS");
      expect(res.body.items).toHaveLength(2);
    }
    expect(products.calls).toBe(2);
  });

  it("does not wait on a hung cache beyond its timeout", async () => {
    const { app, cache } = makeApp({ settings: { cacheTimeoutMs: 50 } });
    cache.mode = "hang";
    const started = Date.now();
    const res = await request(app).get("/api/products").expect(200);
    expect(res.headers["x-cache"]).toBe("MISS");
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it("returns 500 when the database itself fails", async () => {
    const { app } = makeApp({ products: { list: () => Promise.reject(new Error("db down")) } });
    const res = await request(app).get("/api/products").expect(500);
    expect(res.body.error).toBe("internal_error");
  });
});

describe("cross-cutting middleware", () => {
  it("sends CORS headers only to allowlisted origins", async () => {
    const { app } = makeApp();
    const ok = await request(app).get("/api/products").set("Origin", "https://neosale.example").expect(200);
    expect(ok.headers["access-control-allow-origin"]).toBe("https://neosale.example");
    const other = await request(app).get("/api/products").set("Origin", "https://evil.example").expect(200);
    expect(other.headers["access-control-allow-origin"]).toBeUndefined();
    const preflight = await request(app)
      .options("/api/leads")
      .set("Origin", "https://neosale.example")
      .set("Access-Control-Request-Method", "POST")
      .set("Access-Control-Request-Headers", "content-type")
      .expect(204);
    expect(preflight.headers["access-control-allow-methods"]).toContain("POST");
  });

  it("rate-limits /api with a JSON 429 but never the probes", async () => {
    const { app } = makeApp({ settings: { rateLimit: { windowMs: 60_000, max: 3 } } });
    for (let i = 0; i < 3; i++) await request(app).get("/api/products").expect(200);
    const limited = await request(app).get("/api/products").expect(429);
    expect(limited.body.error).toBe("rate_limited");
    expect(limited.headers["retry-after"]).toBeDefined();
    for (let i = 0; i < 5; i++) await request(app).get("/health").expect(200);
  });

  it("echoes a well-formed X-Request-Id and replaces a malformed one", async () => {
    const { app } = makeApp();
    const given = await request(app).get("/health").set("X-Request-Id", "req-123").expect(200);
    expect(given.headers["x-request-id"]).toBe("req-123");
    const bad = await request(app).get("/health").set("X-Request-Id", "bad id\twith spaces").expect(200);
    expect(bad.headers["x-request-id"]).not.toBe("bad id\twith spaces");
  });
});
