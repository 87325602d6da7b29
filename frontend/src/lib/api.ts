// Server-side client for the NEOSALE backend. Only imported from Server
// Components, Server Functions and Route Handlers: the backend URL is read from
// the runtime environment and never shipped to the browser.

import type { LeadInput } from "./lead";

export interface Product {
  id: string;
  sku: string;
  name: string;
  description: string;
  priceCents: number;
  currency: string;
}

export interface Lead {
  id: string;
  name: string;
  email: string;
  company: string | null;
  message: string | null;
  createdAt: string | null;
}

export interface LeadPage {
  items: Lead[];
  total: number;
  page: number;
  pageSize: number;
}

export type CreateLeadResult =
  | { ok: true; lead: Lead | null }
  | { ok: false; kind: "validation"; error: string; field: string | null }
  | { ok: false; kind: "duplicate"; error: string; field: "email" }
  | { ok: false; kind: "unavailable"; error: string };

/** The backend could not be reached or answered with something unusable. */
export class BackendUnavailableError extends Error {
  readonly status: number | null;

  constructor(message: string, status: number | null = null, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "BackendUnavailableError";
    this.status = status;
  }

  /** One log line including the underlying causes (fetch wraps ECONNREFUSED, timeouts...). */
  get summary(): string {
    const parts = [this.message];
    let cause = this.cause;
    while (cause instanceof Error && parts.length < 4) {
      parts.push(cause.message);
      cause = cause.cause;
    }
    return parts.join(": ");
  }
}

export const REQUEST_TIMEOUT_MS = 5000;

/** Reads BACKEND_URL on every call so a promoted image picks up its new environment. */
export function getBackendUrl(): string {
  const raw = process.env.BACKEND_URL?.trim();
  if (!raw) {
    throw new BackendUnavailableError("BACKEND_URL is not configured");
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch (cause) {
    throw new BackendUnavailableError("BACKEND_URL is not a valid URL", null, { cause });
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new BackendUnavailableError("BACKEND_URL must use http or https");
  }
  return url.toString().replace(/\/+$/, "");
}

async function request(path: string, init: RequestInit = {}): Promise<Response> {
  const url = `${getBackendUrl()}${path}`;
  try {
    return await fetch(url, {
      ...init,
      headers: { Accept: "application/json", ...init.headers },
      // Catalogue and leads change independently of deploys; never cache.
      cache: "no-store",
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
  } catch (cause) {
    throw new BackendUnavailableError(`Backend request to ${path} failed`, null, { cause });
  }
}

async function readJson(response: Response, path: string): Promise<unknown> {
  try {
    return await response.json();
  } catch (cause) {
    throw new BackendUnavailableError(`Backend sent invalid JSON for ${path}`, response.status, {
      cause,
    });
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function asId(value: unknown): string | null {
  if (typeof value === "string" && value !== "") return value;
  if (typeof value === "number" && Number.isFinite(value)) return String(value);
  return null;
}

function optionalString(value: unknown): string | null {
  return typeof value === "string" && value !== "" ? value : null;
}

export function parseProduct(value: unknown): Product | null {
  if (!isRecord(value)) return null;
  const id = asId(value.id);
  const { sku, name, priceCents, currency } = value;
  if (
    id === null ||
    typeof sku !== "string" ||
    typeof name !== "string" ||
    typeof priceCents !== "number" ||
    !Number.isInteger(priceCents) ||
    typeof currency !== "string"
  ) {
    return null;
  }
  const description = typeof value.description === "string" ? value.description : "";
  return { id, sku, name, description, priceCents, currency };
}

export function parseLead(value: unknown): Lead | null {
  if (!isRecord(value)) return null;
  const id = asId(value.id);
  if (id === null || typeof value.name !== "string" || typeof value.email !== "string") {
    return null;
  }
  return {
    id,
    name: value.name,
    email: value.email,
    company: optionalString(value.company),
    message: optionalString(value.message),
    createdAt: optionalString(value.createdAt),
  };
}

// Malformed entries are dropped rather than failing the whole page.
function parseList<T>(items: unknown[], parse: (value: unknown) => T | null): T[] {
  return items.map(parse).filter((item): item is T => item !== null);
}

export async function listProducts(): Promise<Product[]> {
  const path = "/api/products";
  const response = await request(path);
  if (!response.ok) {
    throw new BackendUnavailableError(`Backend answered ${response.status} for ${path}`, response.status);
  }
  const body = await readJson(response, path);
  // The backend returns a bare array; a paginated {items} envelope is accepted too.
  const items = Array.isArray(body) ? body : isRecord(body) && Array.isArray(body.items) ? body.items : null;
  if (items === null) {
    throw new BackendUnavailableError(`Unexpected payload for ${path}`, response.status);
  }
  return parseList(items, parseProduct);
}

function positiveInt(value: unknown, fallback: number): number {
  return typeof value === "number" && Number.isInteger(value) && value > 0 ? value : fallback;
}

export async function listLeads(page = 1, pageSize = 20): Promise<LeadPage> {
  const query = new URLSearchParams({ page: String(page), pageSize: String(pageSize) });
  const path = `/api/leads?${query.toString()}`;
  const response = await request(path);
  if (!response.ok) {
    throw new BackendUnavailableError(`Backend answered ${response.status} for /api/leads`, response.status);
  }
  const body = await readJson(response, path);
  if (!isRecord(body) || !Array.isArray(body.items)) {
    throw new BackendUnavailableError("Unexpected payload for /api/leads", response.status);
  }
  const items = parseList(body.items, parseLead);
  return {
    items,
    total: typeof body.total === "number" && body.total >= 0 ? body.total : items.length,
    page: positiveInt(body.page, page),
    pageSize: positiveInt(body.pageSize, pageSize),
  };
}

const UNAVAILABLE_MESSAGE = "The service is temporarily unavailable. Please try again later.";

export async function createLead(input: LeadInput): Promise<CreateLeadResult> {
  const path = "/api/leads";
  let response: Response;
  try {
    response = await request(path, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({
        name: input.name,
        email: input.email,
        // Optional fields are omitted rather than sent as empty strings.
        ...(input.company ? { company: input.company } : {}),
        ...(input.message ? { message: input.message } : {}),
      }),
    });
  } catch (error) {
    if (error instanceof BackendUnavailableError) {
      console.error(`Lead submission failed: ${error.summary}`);
      return { ok: false, kind: "unavailable", error: UNAVAILABLE_MESSAGE };
    }
    throw error;
  }

  if (response.ok) {
    const body: unknown = await response.json().catch(() => null);
    return { ok: true, lead: parseLead(body) };
  }

  const body: unknown = await response.json().catch(() => null);
  const backendError = isRecord(body) ? optionalString(body.error) : null;

  if (response.status === 409) {
    return {
      ok: false,
      kind: "duplicate",
      error: "This email is already registered.",
      field: "email",
    };
  }
  if (response.status === 400 || response.status === 422) {
    return {
      ok: false,
      kind: "validation",
      error: backendError ?? "Some fields are invalid.",
      field: isRecord(body) ? optionalString(body.field) : null,
    };
  }
  console.error(`Lead submission failed: backend answered ${response.status}`);
  return { ok: false, kind: "unavailable", error: UNAVAILABLE_MESSAGE };
}
