import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config.js";

const minimal = {
  DATABASE_URL: "postgresql://u:p@localhost:5432/neosale",
  REDIS_URL: "redis://localhost:6379",
};

function problemsOf(env: NodeJS.ProcessEnv): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error("expected a ConfigError");
}

describe("loadConfig", () => {
  it("applies defaults", () => {
    const c = loadConfig(minimal);
    expect(c.port).toBe(4000);
    expect(c.bodyLimit).toBe("16kb");
    expect(c.corsOrigins).toEqual([]);
    expect(c.rateLimit).toEqual({ windowMs: 60_000, max: 100 });
    expect(c.version).toEqual({ sha: "unknown", buildTime: "unknown", version: "unknown" });
  });

  it("reads every documented variable", () => {
    const c = loadConfig({
      ...minimal,
      PORT: "8080",
      CORS_ORIGINS: " https://neosale.example , http://localhost:3000/ ",
      RATE_LIMIT_WINDOW_MS: "1000",
      RATE_LIMIT_MAX: "5",
      PRODUCTS_CACHE_TTL_SECONDS: "30",
      GIT_SHA: "deadbeef",
      BUILD_TIME: "2026-01-01T00:00:00Z",
      APP_VERSION: "2.0.0",
      LEADS_API_TOKEN: "tok",
    });
    expect(c.port).toBe(8080);
    expect(c.corsOrigins).toEqual(["https://neosale.example", "http://localhost:3000"]);
    expect(c.rateLimit).toEqual({ windowMs: 1000, max: 5 });
    expect(c.productsCacheTtlSeconds).toBe(30);
    expect(c.version).toEqual({ sha: "deadbeef", buildTime: "2026-01-01T00:00:00Z", version: "2.0.0" });
    expect(c.leadsApiToken).toBe("tok");
  });

  it("names each missing required variable", () => {
    const problems = problemsOf({});
    expect(problems.some((p) => p.includes("DATABASE_URL"))).toBe(true);
    expect(problems.some((p) => p.includes("REDIS_URL"))).toBe(true);
  });

  it.each([
    [{ PORT: "70000" }, "PORT"],
    [{ PORT: "abc" }, "PORT"],
    [{ DATABASE_URL: "mysql://x@y/z" }, "DATABASE_URL"],
    [{ REDIS_URL: "localhost:6379" }, "REDIS_URL"],
    [{ CORS_ORIGINS: "not a url" }, "CORS_ORIGINS"],
    [{ RATE_LIMIT_MAX: "0" }, "RATE_LIMIT_MAX"],
    [{ LOG_LEVEL: "loud" }, "LOG_LEVEL"],
    [{ BODY_LIMIT: "lots" }, "BODY_LIMIT"],
  ])("rejects %j naming %s", (bad, variable) => {
    const problems = problemsOf({ ...minimal, ...bad });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(variable);
  });

  it("makes the server exit 1 at start with a message naming the variable", () => {
    const server = fileURLToPath(new URL("../../src/server.ts", import.meta.url));
    const { PATH, HOME } = process.env;
    const result = spawnSync(process.execPath, ["--import", "tsx", server], {
      env: { PATH, HOME, REDIS_URL: "redis://127.0.0.1:1" },
      encoding: "utf8",
      // tsx compiles the whole server first: seconds on a loaded CI machine.
      timeout: 55_000,
    });
    expect(result.status).toBe(1);
    const line = JSON.parse(result.stdout.trim().split("\n").pop() ?? "{}") as { level: string; msg: string };
    expect(line.level).toBe("fatal");
    expect(line.msg).toContain("DATABASE_URL is required");
  }, 60_000);
});
