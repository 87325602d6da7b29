import { createServer, request as httpRequest, Agent, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { createApp } from "../../src/app.js";
import { createLogger } from "../../src/logger.js";
import { createGracefulShutdown, type GracefulShutdown } from "../../src/shutdown.js";
import { makeDeps } from "./fakes.js";

interface Harness {
  server: Server;
  port: number;
  lifecycle: GracefulShutdown;
  events: string[];
  release: () => void;
}

let current: Harness | undefined;

afterEach(() => {
  current?.release();
  current?.server.closeAllConnections();
  current?.server.close();
  current = undefined;
});

/** A real HTTP server whose GET /api/leads blocks until `release()` is called. */
async function start(timeoutMs = 5000): Promise<Harness> {
  const events: string[] = [];
  let release!: () => void;
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  const ctx = makeDeps();
  ctx.leads.beforeList = async () => {
    events.push("request started");
    await gate;
    events.push("request finished");
  };
  const app = createApp({ ...ctx.deps, isShuttingDown: () => lifecycle.isShuttingDown() });
  const server = createServer(app);
  const lifecycle = createGracefulShutdown({
    server,
    timeoutMs,
    logger: createLogger("silent"),
    closers: [
      { name: "db", close: () => Promise.resolve(events.push("db closed")) },
      { name: "redis", close: () => Promise.resolve(events.push("redis closed")) },
    ],
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  current = { server, port, lifecycle, events, release };
  return current;
}

function get(port: number, path: string, agent?: Agent): Promise<{ status: number; body: string; connection?: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: "127.0.0.1", port, path, agent }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body, connection: res.headers.connection }));
    });
    req.on("error", reject);
    req.end();
  });
}

const waitFor = async (cond: () => boolean) => {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!cond()) throw new Error("condition not reached");
};

describe("graceful shutdown", () => {
  it("finishes the in-flight request, refuses new connections, then closes dependencies", async () => {
    const h = await start();
    const inFlight = get(h.port, "/api/leads");
    await waitFor(() => h.events.includes("request started"));

    const done = h.lifecycle.shutdown("SIGTERM");
    expect(h.lifecycle.isShuttingDown()).toBe(true);
    await waitFor(() => !h.server.listening);
    await expect(get(h.port, "/health")).rejects.toMatchObject({ code: "ECONNREFUSED" });
    expect(h.events).toEqual(["request started"]);

    h.release();
    const res = await inFlight;
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toMatchObject({ items: [], total: 0 });
    await expect(done).resolves.toBe(true);
    expect(h.events).toEqual(["request started", "request finished", "db closed", "redis closed"]);
  });

  it("does not wait for idle keep-alive connections", async () => {
    const h = await start();
    const agent = new Agent({ keepAlive: true });
    expect((await get(h.port, "/health", agent)).status).toBe(200);
    const started = Date.now();
    await expect(h.lifecycle.shutdown("SIGTERM")).resolves.toBe(true);
    expect(Date.now() - started).toBeLessThan(1000);
    agent.destroy();
  });

  it("closes a keep-alive connection once its in-flight response is sent", async () => {
    const h = await start();
    const agent = new Agent({ keepAlive: true });
    expect((await get(h.port, "/health", agent)).status).toBe(200);
    const inFlight = get(h.port, "/api/leads", agent);
    await waitFor(() => h.events.includes("request started"));
    const done = h.lifecycle.shutdown("SIGTERM");
    h.release();
    expect((await inFlight).status).toBe(200);
    await expect(done).resolves.toBe(true);
    agent.destroy();
  });

  it("cuts connections after the timeout and still closes dependencies", async () => {
    const h = await start(300);
    const inFlight = get(h.port, "/api/leads").catch((err: NodeJS.ErrnoException) => err.code);
    await waitFor(() => h.events.includes("request started"));
    const started = Date.now();
    await expect(h.lifecycle.shutdown("SIGTERM")).resolves.toBe(false);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(await inFlight).toBe("ECONNRESET");
    expect(h.events).toContain("db closed");
  });

  it("is idempotent", async () => {
    const h = await start();
    const a = h.lifecycle.shutdown("SIGTERM");
    const b = h.lifecycle.shutdown("SIGINT");
    expect(a).toBe(b);
    await a;
    expect(h.events.filter((e) => e === "db closed")).toHaveLength(1);
  });
});
