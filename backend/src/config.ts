import { z } from "zod";

/** Thrown when the environment cannot produce a valid configuration. */
export class ConfigError extends Error {
  constructor(public readonly problems: string[]) {
    super(`Invalid configuration: ${problems.join("; ")}`);
    this.name = "ConfigError";
  }
}

export interface Config {
  nodeEnv: string;
  host: string;
  port: number;
  databaseUrl: string;
  dbPoolMax: number;
  redisUrl: string;
  corsOrigins: string[];
  logLevel: string;
  bodyLimit: string;
  trustProxy: number;
  rateLimit: { windowMs: number; max: number };
  productsCacheTtlSeconds: number;
  cacheTimeoutMs: number;
  readyTimeoutMs: number;
  shutdownTimeoutMs: number;
  leadsApiToken: string | undefined;
  version: { sha: string; buildTime: string; version: string };
}

const intIn = (name: string, min: number, max: number, fallback: number) =>
  z
    .string()
    .trim()
    .optional()
    .transform((raw, ctx) => {
      if (raw === undefined || raw === "") return fallback;
      const n = Number(raw);
      if (!Number.isInteger(n) || n < min || n > max) {
        ctx.addIssue({ code: "custom", message: `${name} must be an integer between ${min} and ${max} (got "${raw}")` });
        return z.NEVER;
      }
      return n;
    });

const urlWithScheme = (name: string, schemes: string[]) =>
  z
    .string({ error: `${name} is required` })
    .trim()
    .min(1, { error: `${name} is required` })
    .refine(
      (raw) => {
        try {
          return schemes.includes(new URL(raw).protocol);
        } catch {
          return false;
        }
      },
      { error: `${name} must be a URL starting with ${schemes.map((s) => `${s}//`).join(" or ")}` },
    );

const optionalText = z
  .string()
  .trim()
  .optional()
  .transform((v) => (v ? v : undefined));

const envSchema = z.object({
  NODE_ENV: z.string().trim().default("production"),
  HOST: z.string().trim().default("0.0.0.0"),
  PORT: intIn("PORT", 1, 65535, 4000),
  DATABASE_URL: urlWithScheme("DATABASE_URL", ["postgres:", "postgresql:"]),
  DB_POOL_MAX: intIn("DB_POOL_MAX", 1, 100, 10),
  REDIS_URL: urlWithScheme("REDIS_URL", ["redis:", "rediss:"]),
  CORS_ORIGINS: z
    .string()
    .optional()
    .transform((raw, ctx) => {
      const entries = (raw ?? "")
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean);
      const origins: string[] = [];
      for (const entry of entries) {
        let origin: string | undefined;
        try {
          const u = new URL(entry);
          if (u.protocol === "http:" || u.protocol === "https:") origin = u.origin;
        } catch {
          origin = undefined;
        }
        if (!origin) {
          ctx.addIssue({ code: "custom", message: `CORS_ORIGINS entry "${entry}" is not an http(s) origin` });
          return z.NEVER;
        }
        origins.push(origin);
      }
      return origins;
    }),
  LOG_LEVEL: z
    .enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"], {
      error: "LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent",
    })
    .default("info"),
  BODY_LIMIT: z
    .string()
    .trim()
    .regex(/^\d+(b|kb|mb)$/i, { error: 'BODY_LIMIT must look like "16kb"' })
    .default("16kb"),
  TRUST_PROXY: intIn("TRUST_PROXY", 0, 10, 0),
  RATE_LIMIT_WINDOW_MS: intIn("RATE_LIMIT_WINDOW_MS", 1000, 86_400_000, 60_000),
  RATE_LIMIT_MAX: intIn("RATE_LIMIT_MAX", 1, 1_000_000, 100),
  PRODUCTS_CACHE_TTL_SECONDS: intIn("PRODUCTS_CACHE_TTL_SECONDS", 1, 86_400, 60),
  CACHE_TIMEOUT_MS: intIn("CACHE_TIMEOUT_MS", 10, 10_000, 250),
  READY_TIMEOUT_MS: intIn("READY_TIMEOUT_MS", 50, 30_000, 1000),
  SHUTDOWN_TIMEOUT_MS: intIn("SHUTDOWN_TIMEOUT_MS", 100, 120_000, 10_000),
  LEADS_API_TOKEN: optionalText,
  GIT_SHA: optionalText,
  BUILD_TIME: optionalText,
  APP_VERSION: optionalText,
});

/** Parses the environment once; every problem is reported together, each naming its variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const variable = String(issue.path[0] ?? "environment");
      return issue.message.includes(variable) ? issue.message : `${variable}: ${issue.message}`;
    });
    throw new ConfigError(problems);
  }
  const e = parsed.data;
  return {
    nodeEnv: e.NODE_ENV,
    host: e.HOST,
    port: e.PORT,
    databaseUrl: e.DATABASE_URL,
    dbPoolMax: e.DB_POOL_MAX,
    redisUrl: e.REDIS_URL,
    corsOrigins: e.CORS_ORIGINS,
    logLevel: e.LOG_LEVEL,
    bodyLimit: e.BODY_LIMIT,
    trustProxy: e.TRUST_PROXY,
    rateLimit: { windowMs: e.RATE_LIMIT_WINDOW_MS, max: e.RATE_LIMIT_MAX },
    productsCacheTtlSeconds: e.PRODUCTS_CACHE_TTL_SECONDS,
    cacheTimeoutMs: e.CACHE_TIMEOUT_MS,
    readyTimeoutMs: e.READY_TIMEOUT_MS,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    leadsApiToken: e.LEADS_API_TOKEN,
    version: {
      sha: e.GIT_SHA ?? "unknown",
      buildTime: e.BUILD_TIME ?? "unknown",
      version: e.APP_VERSION ?? "unknown",
    },
  };
}
