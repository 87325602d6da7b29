import { describe, expect, it, vi } from "vitest";
import * as healthRoute from "@/app/api/health/route";
import { mockFetch } from "./helpers";

describe("GET /api/health", () => {
  it("answers 200 with the service identity as uncached JSON", async () => {
    const response = healthRoute.GET();

    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^application\/json/);
    expect(response.headers.get("cache-control")).toBe("no-store");
    await expect(response.json()).resolves.toEqual({ status: "ok", service: "neosale-frontend" });
  });

  it("does not depend on the backend", async () => {
    vi.stubEnv("BACKEND_URL", "");
    const fetchMock = mockFetch();
    expect(healthRoute.GET().status).toBe(200);
    expect(fetchMock).not.toHaveBeenCalled();
  });

  it("is evaluated per request, never prerendered at build time", () => {
    expect(healthRoute.dynamic).toBe("force-dynamic");
  });
});
