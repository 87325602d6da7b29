import { spawn, type ChildProcess } from "node:child_process";
import { request as httpRequest } from "node:http";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { closedPort, integrationEnv, sql } from "./support.js";

// Runs the real entry point (src/server.ts) as a child process and stops it with SIGTERM.
const serverEntry = fileURLToPath(new URL("../../src/server.ts", import.meta.url));
const { databaseUrl, redisUrl } = integrationEnv();
let child: ChildProcess | undefined;

afterEach(() => {
  if (child && child.exitCode === null) child.kill("SIGKILL");
  child = undefined;
});

async function startServer(port: number): Promise<{ proc: ChildProcess; logs: () => string[] }> {
  const lines: string[] = [];
  const proc = spawn(process.execPath, ["--import", "tsx", serverEntry], {
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      DATABASE_URL: databaseUrl,
      REDIS_URL: redisUrl,
      PORT: String(port),
      HOST: "127.0.0.1",
      SHUTDOWN_TIMEOUT_MS: "10000",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child = proc;
  let buf = "";
  proc.stdout?.on("data", (chunk: Buffer) => {
    buf += chunk.toString();
    const parts = buf.split("\n");
    buf = parts.pop() ?? "";
    lines.push(...parts.filter(Boolean));
  });
  proc.stderr?.on("data", (chunk: Buffer) => lines.push(chunk.toString()));
  for (let i = 0; i < 150; i++) {
    if (lines.some((l) => l.includes("neosale-backend listening"))) return { proc, logs: () => lines };
    if (proc.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`server did not start:\n${lines.join("\n")}`);
}

/** Resolves with the connection error code, or "connected" if the server still accepts. */
const probe = (port: number) =>
  new Promise<string>((resolve) => {
    const req = httpRequest({ host: "127.0.0.1", port, path: "/health", agent: false }, (res) => {
      res.resume();
      resolve("connected");
    });
    req.on("error", (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    req.end();
  });

const exited = (proc: ChildProcess) =>
  new Promise<number | null>((resolve) => {
    if (proc.exitCode !== null) resolve(proc.exitCode);
    else proc.once("exit", (code) => resolve(code));
  });

describe("server process", () => {
  it("on SIGTERM finishes a request already in flight, then exits 0", async () => {
    const port = await closedPort();
    const { proc, logs } = await startServer(port);
    const email = `inflight-${Date.now()}@example.com`;
    await sql(databaseUrl, 'DELETE FROM "Lead" WHERE email = $1', [email]);
    const body = JSON.stringify({ name: "In Flight", email });

    // Send the headers and half the body, signal the server, then send the rest.
    const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpRequest(
        {
          host: "127.0.0.1",
          port,
          method: "POST",
          path: "/api/leads",
          headers: { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) },
        },
        (res) => {
          let text = "";
          res.on("data", (c: Buffer) => (text += c.toString()));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
        },
      );
      req.on("error", reject);
      req.write(body.slice(0, 10));
      setTimeout(() => {
        proc.kill("SIGTERM");
        setTimeout(() => {
          // While the request is still open, new connections are already refused.
          refused = probe(port).finally(() => req.end(body.slice(10)));
        }, 300);
      }, 200);
    });
    let refused: Promise<string> = Promise.resolve("not probed");

    const res = await response;
    expect(await refused).toBe("ECONNREFUSED");
    expect(res.status).toBe(201);
    expect(JSON.parse(res.body)).toMatchObject({ email });
    expect(await exited(proc)).toBe(0);
    expect(await sql(databaseUrl, 'SELECT 1 FROM "Lead" WHERE email = $1', [email])).toHaveLength(1);

    const messages = logs().map((l) => (JSON.parse(l) as { msg: string }).msg);
    // The access log line of the in-flight request is written when its
    // response ends, which can race the final shutdown line: check order
    // between the shutdown lines only.
    const started = messages.indexOf("shutdown started: no longer accepting connections");
    expect(started).toBeGreaterThanOrEqual(0);
    expect(messages.lastIndexOf("shutdown complete")).toBeGreaterThan(started);
    await sql(databaseUrl, 'DELETE FROM "Lead" WHERE email = $1', [email]);
  });
});
