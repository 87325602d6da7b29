import { createApp, type AppDeps, type AppSettings } from "../../src/app.js";
import {
  DuplicateLeadError,
  type Cache,
  type LeadDto,
  type LeadRepository,
  type NewLead,
  type Page,
  type ProductDto,
  type ProductRepository,
} from "../../src/data/types.js";
import { createLogger } from "../../src/logger.js";

/** In-memory lead store with the same uniqueness rule as the database. */
export class MemoryLeadRepository implements LeadRepository {
  rows: LeadDto[] = [];
  private nextId = 1;
  /** Optional hook to delay or fail list() from tests. */
  beforeList: (() => Promise<void>) | undefined;

  create(lead: NewLead): Promise<LeadDto> {
    if (this.rows.some((r) => r.email === lead.email)) return Promise.reject(new DuplicateLeadError("email"));
    const row: LeadDto = {
      id: this.nextId++,
      name: lead.name,
      email: lead.email,
      company: lead.company ?? null,
      message: lead.message ?? null,
      createdAt: new Date(Date.UTC(2026, 0, 1, 0, 0, this.nextId)).toISOString(),
    };
    this.rows.push(row);
    return Promise.resolve(row);
  }

  async list(offset: number, limit: number): Promise<Page<LeadDto>> {
    await this.beforeList?.();
    const newestFirst = [...this.rows].reverse();
    return { items: newestFirst.slice(offset, offset + limit), total: this.rows.length };
  }
}

export class CountingProductRepository implements ProductRepository {
  calls = 0;
  constructor(public items: ProductDto[] = sampleProducts()) {}
  list(): Promise<ProductDto[]> {
    this.calls++;
    return Promise.resolve(this.items.map((p) => ({ ...p })));
  }
}

export function sampleProducts(): ProductDto[] {
  return [
    { id: 1, sku: "A-1", name: "Alpha", description: "First", priceCents: 1000, currency: "EUR", createdAt: "2026-01-01T00:00:00.000Z" },
    { id: 2, sku: "B-2", name: "Beta", description: "Second", priceCents: 2500, currency: "EUR", createdAt: "2026-01-02T00:00:00.000Z" },
  ];
}

/** Map-backed cache; `mode` simulates an outage (rejecting) or a hung connection. */
export class MemoryCache implements Cache {
  store = new Map<string, { value: string; ttlSeconds: number }>();
  mode: "ok" | "fail" | "hang" = "ok";
  sets = 0;

  get(key: string): Promise<string | null> {
    if (this.mode === "fail") return Promise.reject(new Error("cache down"));
    if (this.mode === "hang") return new Promise(() => {});
    return Promise.resolve(this.store.get(key)?.value ?? null);
  }

  set(key: string, value: string, ttlSeconds: number): Promise<void> {
    if (this.mode === "fail") return Promise.reject(new Error("cache down"));
    if (this.mode === "hang") return new Promise(() => {});
    this.sets++;
    this.store.set(key, { value, ttlSeconds });
    return Promise.resolve();
  }
}

export const baseSettings: AppSettings = {
  corsOrigins: ["https://neosale.example"],
  bodyLimit: "16kb",
  trustProxy: 0,
  rateLimit: { windowMs: 60_000, max: 1000 },
  productsCacheTtlSeconds: 60,
  cacheTimeoutMs: 100,
  readyTimeoutMs: 200,
  leadsApiToken: undefined,
  version: { sha: "abc123", buildTime: "2026-01-01T00:00:00Z", version: "1.2.3" },
};

export interface TestContext {
  deps: AppDeps;
  leads: MemoryLeadRepository;
  products: CountingProductRepository;
  cache: MemoryCache;
}

export type DepsOverrides = Partial<Omit<AppDeps, "settings">> & { settings?: Partial<AppSettings> };

export function makeDeps(overrides: DepsOverrides = {}): TestContext {
  const leads = new MemoryLeadRepository();
  const products = new CountingProductRepository();
  const cache = new MemoryCache();
  const { settings, ...rest } = overrides;
  const deps: AppDeps = {
    settings: { ...baseSettings, ...settings },
    logger: createLogger("silent"),
    leads,
    products,
    cache,
    readiness: { database: () => Promise.resolve(), redis: () => Promise.resolve() },
    ...rest,
  };
  return { deps, leads, products, cache };
}

export function makeApp(overrides: DepsOverrides = {}) {
  const ctx = makeDeps(overrides);
  return { app: createApp(ctx.deps), ...ctx };
}
