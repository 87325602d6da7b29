import { randomUUID } from "node:crypto";
import compression from "compression";
import cors from "cors";
import express, { type Express } from "express";
import { rateLimit } from "express-rate-limit";
import helmet from "helmet";
import { pinoHttp } from "pino-http";
import type { Config } from "./config.js";
import type { Cache, LeadRepository, ProductRepository, ReadinessCheck } from "./data/types.js";
import type { Logger } from "./logger.js";
import { errorHandler, notFound } from "./http/errors.js";
import { healthRouter, leadsRouter, productsRouter } from "./http/routes.js";

/** The part of the configuration the HTTP app reads. */
export type AppSettings = Pick<
  Config,
  | "corsOrigins"
  | "bodyLimit"
  | "trustProxy"
  | "rateLimit"
  | "productsCacheTtlSeconds"
  | "cacheTimeoutMs"
  | "readyTimeoutMs"
  | "leadsApiToken"
  | "version"
>;

export interface AppDeps {
  settings: AppSettings;
  logger: Logger;
  leads: LeadRepository;
  products: ProductRepository;
  cache: Cache;
  /** Probes for /ready, by dependency name (e.g. database, redis). */
  readiness: Record<string, ReadinessCheck>;
  /** Lets /ready report 503 as soon as shutdown starts, so load balancers drain this instance. */
  isShuttingDown?: () => boolean;
}

const REQUEST_ID = /^[\w.:-]{1,128}$/;

export function createApp(deps: AppDeps): Express {
  const { settings, logger } = deps;
  const app = express();

  app.disable("x-powered-by");
  app.set("trust proxy", settings.trustProxy);
  app.set("query parser", "simple");

  app.use(
    pinoHttp({
      logger,
      genReqId: (req, res) => {
        const given = req.headers["x-request-id"];
        const id = typeof given === "string" && REQUEST_ID.test(given) ? given : randomUUID();
        res.setHeader("X-Request-Id", id);
        return id;
      },
      // Only method, path and status: no headers (cookies, tokens), no query strings, no bodies.
      serializers: {
        req: (req: { id: unknown; method: string; url: string }) => ({
          id: req.id,
          method: req.method,
          path: req.url.split("?")[0],
        }),
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
      },
      customLogLevel: (_req, res, err) => (err || res.statusCode >= 500 ? "error" : res.statusCode >= 400 ? "warn" : "info"),
      autoLogging: { ignore: (req) => req.url === "/health" || req.url === "/ready" },
    }),
  );

  app.use(helmet());
  app.use(
    cors({
      // Only listed origins get CORS headers; requests without Origin (curl, server-side) are unaffected.
      origin: (origin, cb) => cb(null, origin !== undefined && settings.corsOrigins.includes(origin)),
      methods: ["GET", "POST", "OPTIONS"],
      allowedHeaders: ["Content-Type", "Authorization", "X-Request-Id"],
      exposedHeaders: ["X-Request-Id", "X-Cache"],
      maxAge: 600,
    }),
  );
  app.use(compression());

  app.use(
    healthRouter({
      checks: deps.readiness,
      readyTimeoutMs: settings.readyTimeoutMs,
      isShuttingDown: deps.isShuttingDown ?? (() => false),
      version: settings.version,
      logger,
    }),
  );

  // Probes above stay outside the limiter so orchestrators never get 429s.
  app.use(
    "/api",
    rateLimit({
      windowMs: settings.rateLimit.windowMs,
      limit: settings.rateLimit.max,
      standardHeaders: "draft-8",
      legacyHeaders: false,
      handler: (_req, res, _next, options) => {
        res.status(options.statusCode).json({ error: "rate_limited", message: "Too many requests, slow down" });
      },
    }),
  );
  app.use("/api", express.json({ limit: settings.bodyLimit, strict: true }));
  app.use("/api/leads", leadsRouter({ leads: deps.leads, listToken: settings.leadsApiToken }));
  app.use(
    "/api/products",
    productsRouter({
      products: deps.products,
      cache: deps.cache,
      ttlSeconds: settings.productsCacheTtlSeconds,
      cacheTimeoutMs: settings.cacheTimeoutMs,
      logger,
    }),
  );

  app.use(notFound);
  app.use(errorHandler(logger, settings.bodyLimit));
  return app;
}
