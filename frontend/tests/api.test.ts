import { beforeEach, describe, expect, it, vi } from "vitest";
import {
  BackendUnavailableError,
  createLead,
  getBackendUrl,
  listLeads,
  listProducts,
  parseProduct,
} from "@/lib/api";
import { jsonResponse, mockFetch, requestOf } from "./helpers";

const product = {
  id: "p1",
  sku: "NEO-001",
  name: "Starter plan",
  description: "Everything to get going",
  priceCents: 1999,
  currency: "EUR",
};

beforeEach(() => {
  vi.stubEnv("BACKEND_URL", "http://backend.internal:4000/");
});

describe("getBackendUrl", () => {
  it("strips trailing slashes", () => {
    expect(getBackendUrl()).toBe("http://backend.internal:4000");
  });

  it("keeps a path prefix", () => {
    vi.stubEnv("BACKEND_URL", "https://api.example.com/neosale/");
    expect(getBackendUrl()).toBe("https://api.example.com/neosale");
  });

  it("rejects a missing, malformed or non-http value", () => {
    vi.stubEnv("BACKEND_URL", "");
    expect(() => getBackendUrl()).toThrow(BackendUnavailableError);
    vi.stubEnv("BACKEND_URL", "not a url");
    expect(() => getBackendUrl()).toThrow(/not a valid URL/);
    vi.stubEnv("BACKEND_URL", "ftp://backend");
    expect(() => getBackendUrl()).toThrow(/http or https/);
  });
});

describe("listProducts", () => {
  it("requests the catalogue uncached and returns parsed products", async () => {
    const fetchMock = mockFetch().mockResolvedValue(jsonResponse([product]));

    await expect(listProducts()).resolves.toEqual([product]);

    const { url, init } = requestOf(fetchMock);
    expect(url).toBe("http://backend.internal:4000/api/products");
    expect(init.cache).toBe("no-store");
    expect(init.signal).toBeInstanceOf(AbortSignal);
    expect(new Headers(init.headers).get("accept")).toBe("application/json");
  });

  it("reads BACKEND_URL on every call rather than once at import", async () => {
    const fetchMock = mockFetch().mockImplementation(async () => jsonResponse([]));
    await listProducts();
    vi.stubEnv("BACKEND_URL", "http://production-backend:8080");
    await listProducts();
    expect(requestOf(fetchMock, 0).url).toBe("http://backend.internal:4000/api/products");
    expect(requestOf(fetchMock, 1).url).toBe("http://production-backend:8080/api/products");
  });

  it("accepts an {items} envelope", async () => {
    mockFetch().mockResolvedValue(jsonResponse({ items: [product], total: 1 }));
    await expect(listProducts()).resolves.toEqual([product]);
  });

  it("normalises numeric ids and missing descriptions, dropping malformed entries", async () => {
    mockFetch().mockResolvedValue(
      jsonResponse([
        { ...product, id: 7, description: null },
        { ...product, id: "bad", priceCents: "19.99" },
        { id: "no-name", sku: "X", priceCents: 1, currency: "EUR" },
        "garbage",
      ]),
    );
    await expect(listProducts()).resolves.toEqual([{ ...product, id: "7", description: "" }]);
  });

  it("throws BackendUnavailableError with the status on a non-2xx answer", async () => {
    mockFetch().mockResolvedValue(jsonResponse({ error: "boom" }, 503));
    const error = await listProducts().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendUnavailableError);
    expect((error as BackendUnavailableError).status).toBe(503);
  });

  it("throws BackendUnavailableError when the backend cannot be reached", async () => {
    const networkError = new TypeError("fetch failed", { cause: new Error("connect ECONNREFUSED") });
    mockFetch().mockRejectedValue(networkError);
    const error = await listProducts().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendUnavailableError);
    expect((error as BackendUnavailableError).cause).toBe(networkError);
    expect((error as BackendUnavailableError).summary).toBe(
      "Backend request to /api/products failed: fetch failed: connect ECONNREFUSED",
    );
  });

  it("throws BackendUnavailableError on invalid JSON or an unexpected shape", async () => {
    mockFetch().mockResolvedValueOnce(new Response("<html>proxy error</html>", { status: 200 }));
    await expect(listProducts()).rejects.toBeInstanceOf(BackendUnavailableError);

    mockFetch().mockResolvedValueOnce(jsonResponse({ products: [] }));
    await expect(listProducts()).rejects.toThrow(/Unexpected payload/);
  });

  it("does not call fetch when BACKEND_URL is unset", async () => {
    vi.stubEnv("BACKEND_URL", "");
    const fetchMock = mockFetch();
    await expect(listProducts()).rejects.toBeInstanceOf(BackendUnavailableError);
    expect(fetchMock).not.toHaveBeenCalled();
  });
});

describe("parseProduct", () => {
  it("rejects fractional cents", () => {
    expect(parseProduct({ ...product, priceCents: 19.5 })).toBeNull();
  });
});

describe("listLeads", () => {
  it("passes pagination in the query string and parses the page", async () => {
    const fetchMock = mockFetch().mockResolvedValue(
      jsonResponse({
        items: [
          {
            id: 1,
            name: "Ada",
            email: "ada@example.com",
            company: "",
            message: "Hi",
            createdAt: "2024-05-01T10:00:00.000Z",
          },
          { id: 2, name: "No email" },
        ],
        total: 21,
        page: 2,
        pageSize: 20,
      }),
    );

    const page = await listLeads(2, 20);

    expect(requestOf(fetchMock).url).toBe("http://backend.internal:4000/api/leads?page=2&pageSize=20");
    expect(page).toEqual({
      items: [
        {
          id: "1",
          name: "Ada",
          email: "ada@example.com",
          company: null,
          message: "Hi",
          createdAt: "2024-05-01T10:00:00.000Z",
        },
      ],
      total: 21,
      page: 2,
      pageSize: 20,
    });
  });

  it("falls back to the requested paging when the backend omits it", async () => {
    mockFetch().mockResolvedValue(jsonResponse({ items: [] }));
    await expect(listLeads()).resolves.toEqual({ items: [], total: 0, page: 1, pageSize: 20 });
  });

  it("throws BackendUnavailableError on a server error", async () => {
    mockFetch().mockResolvedValue(jsonResponse({ error: "db down" }, 500));
    await expect(listLeads()).rejects.toBeInstanceOf(BackendUnavailableError);
  });
});

describe("createLead", () => {
  const input = { name: "Ada Lovelace", email: "ada@example.com", company: "", message: "Call me" };

  it("POSTs JSON and omits empty optional fields", async () => {
    const fetchMock = mockFetch().mockResolvedValue(
      jsonResponse({ id: "l1", name: input.name, email: input.email, message: "Call me" }, 201),
    );

    const result = await createLead(input);

    expect(result).toEqual({
      ok: true,
      lead: { id: "l1", name: input.name, email: input.email, company: null, message: "Call me", createdAt: null },
    });
    const { url, init } = requestOf(fetchMock);
    expect(url).toBe("http://backend.internal:4000/api/leads");
    expect(init.method).toBe("POST");
    expect(new Headers(init.headers).get("content-type")).toBe("application/json");
    expect(JSON.parse(String(init.body))).toEqual({
      name: "Ada Lovelace",
      email: "ada@example.com",
      message: "Call me",
    });
  });

  it("still succeeds when the backend returns no body", async () => {
    mockFetch().mockResolvedValue(new Response(null, { status: 204 }));
    await expect(createLead(input)).resolves.toEqual({ ok: true, lead: null });
  });

  it("maps 400 {error, field} to a validation result", async () => {
    mockFetch().mockResolvedValue(jsonResponse({ error: "Invalid email format", field: "email" }, 400));
    await expect(createLead(input)).resolves.toEqual({
      ok: false,
      kind: "validation",
      error: "Invalid email format",
      field: "email",
    });
  });

  it("maps 409 to a duplicate-email result", async () => {
    mockFetch().mockResolvedValue(jsonResponse({ error: "Email already exists" }, 409));
    const result = await createLead(input);
    expect(result).toMatchObject({ ok: false, kind: "duplicate", field: "email" });
    expect(result.ok === false && result.error).toMatch(/already registered/);
  });

  it("reports the service as unavailable on 5xx or network failure, logging the cause", async () => {
    const log = vi.spyOn(console, "error").mockImplementation(() => undefined);

    mockFetch().mockResolvedValueOnce(jsonResponse({ error: "internal" }, 500));
    await expect(createLead(input)).resolves.toMatchObject({ ok: false, kind: "unavailable" });
    expect(log).toHaveBeenLastCalledWith("Lead submission failed: backend answered 500");

    mockFetch().mockRejectedValueOnce(new TypeError("fetch failed"));
    await expect(createLead(input)).resolves.toMatchObject({ ok: false, kind: "unavailable" });
    expect(log).toHaveBeenLastCalledWith("Lead submission failed: Backend request to /api/leads failed: fetch failed");
  });
});
