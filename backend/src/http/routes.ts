import { Router, type RequestHandler } from "express";
import { timingSafeEqual } from "node:crypto";
import type { Logger } from "../logger.js";
import { withTimeout } from "../timeout.js";
import { DuplicateLeadError, type Cache, type LeadRepository, type ProductRepository, type ReadinessCheck } from "../data/types.js";
import { HttpError } from "./errors.js";
import { newLeadSchema, pageQuerySchema, parseOrThrow } from "./validation.js";

export const PRODUCTS_CACHE_KEY = "neosale:products:v1";

export function healthRouter(opts: {
  checks: Record<string, ReadinessCheck>;
  readyTimeoutMs: number;
  isShuttingDown: () => boolean;
  version: { sha: string; buildTime: string; version: string };
  logger: Logger;
}): Router {
  const router = Router();

  // Liveness: answers without touching any dependency.
  router.get("/health", (_req, res) => {
    res.json({ status: "ok", service: "neosale-backend" });
  });

  router.get("/ready", async (_req, res) => {
    res.setHeader("Cache-Control", "no-store");
    if (opts.isShuttingDown()) {
      res.status(503).json({ status: "unavailable", reason: "shutting down", failed: [], checks: {} });
      return;
    }
    const names = Object.keys(opts.checks);
    const results = await Promise.allSettled(
      names.map((name) => withTimeout(Promise.resolve().then(opts.checks[name]), opts.readyTimeoutMs, name)),
    );
    const checks: Record<string, string> = {};
    const failed: string[] = [];
    results.forEach((result, i) => {
      const name = names[i] ?? `check${i}`;
      if (result.status === "fulfilled") {
        checks[name] = "ok";
      } else {
        failed.push(name);
        const reason = result.reason instanceof Error ? result.reason.message : String(result.reason);
        // Details stay in the logs; the probe answer only says what failed.
        checks[name] = reason.includes("timed out") ? "timeout" : "error";
        opts.logger.warn({ check: name, err: reason }, "readiness check failed");
      }
    });
    if (failed.length === 0) {
      res.json({ status: "ready", checks });
    } else {
      res.status(503).json({ status: "unavailable", reason: `${failed.join(", ")} unavailable`, failed, checks });
    }
  });

  router.get("/version", (_req, res) => {
    res.json(opts.version);
  });

  return router;
}

function bearerGuard(token: string | undefined): RequestHandler {
  if (!token) return (_req, _res, next) => next();
  const expected = Buffer.from(token);
  return (req, _res, next) => {
    const header = req.get("authorization") ?? "";
    const given = Buffer.from(header.startsWith("Bearer ") ? header.slice(7) : "");
    if (given.length === expected.length && timingSafeEqual(given, expected)) {
      next();
      return;
    }
    next(new HttpError(401, "unauthorized", "A valid bearer token is required to list leads"));
  };
}

export function leadsRouter(opts: { leads: LeadRepository; listToken: string | undefined }): Router {
  const router = Router();

  router.post("/", async (req, res) => {
    if (!req.is("application/json")) {
      throw new HttpError(415, "unsupported_media_type", "Content-Type must be application/json");
    }
    const input = parseOrThrow(newLeadSchema, req.body);
    try {
      const lead = await opts.leads.create(input);
      res.status(201).location(`/api/leads/${lead.id}`).json(lead);
    } catch (err) {
      if (err instanceof DuplicateLeadError) {
        throw new HttpError(409, "duplicate_lead", err.message, { field: err.field });
      }
      throw err;
    }
  });

  router.get("/", bearerGuard(opts.listToken), async (req, res) => {
    const { page, pageSize } = parseOrThrow(pageQuerySchema, req.query);
    const { items, total } = await opts.leads.list((page - 1) * pageSize, pageSize);
    res.json({ items, total, page, pageSize });
  });

  return router;
}

export function productsRouter(opts: {
  products: ProductRepository;
  cache: Cache;
  ttlSeconds: number;
  cacheTimeoutMs: number;
  logger: Logger;
}): Router {
  const router = Router();

  router.get("/", async (_req, res) => {
    // The cache is an optimisation only: any cache failure falls through to the database.
    let cached: string | null = null;
    try {
      cached = await withTimeout(opts.cache.get(PRODUCTS_CACHE_KEY), opts.cacheTimeoutMs, "cache get");
    } catch (err) {
      opts.logger.warn({ err: err instanceof Error ? err.message : String(err) }, "products cache read failed");
    }
    if (cached !== null) {
      res.setHeader("X-Cache", "HIT");
      res.type("application/json").send(cached);
      return;
    }

    const items = await opts.products.list();
    const body = JSON.stringify({ items });
    res.setHeader("X-Cache", "MISS");
    res.type("application/json").send(body);

    // Populate after answering so a slow cache never delays the response.
    withTimeout(opts.cache.set(PRODUCTS_CACHE_KEY, body, opts.ttlSeconds), opts.cacheTimeoutMs, "cache set").catch(
      (err: unknown) => {
        opts.logger.warn({ err: err instanceof Error ? err.message : String(err) }, "products cache write failed");
      },
    );
  });

  return router;
}
