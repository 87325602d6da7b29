import { beforeEach, describe, expect, it, vi } from "vitest";
import { submitLead } from "@/app/actions";
import { INITIAL_LEAD_FORM_STATE } from "@/lib/lead";
import { jsonResponse, mockFetch, requestOf } from "./helpers";

function form(fields: Record<string, string>): FormData {
  const data = new FormData();
  for (const [key, value] of Object.entries(fields)) data.set(key, value);
  return data;
}

const complete = { name: " Ada ", email: "ada@example.com", company: "AE Ltd", message: "Quote please" };

beforeEach(() => {
  vi.stubEnv("BACKEND_URL", "http://backend:4000");
  vi.spyOn(console, "error").mockImplementation(() => undefined);
});

describe("submitLead server function", () => {
  it("rejects invalid input without calling the backend and keeps the values", async () => {
    const fetchMock = mockFetch();
    const state = await submitLead(INITIAL_LEAD_FORM_STATE, form({ ...complete, email: "nope" }));
    expect(fetchMock).not.toHaveBeenCalled();
    expect(state).toMatchObject({
      status: "error",
      fieldErrors: { email: "Enter a valid email address." },
      values: { name: "Ada", email: "nope" },
    });
  });

  it("sends the trimmed lead and clears the form on success", async () => {
    const fetchMock = mockFetch().mockResolvedValue(jsonResponse({ id: "1", name: "Ada", email: complete.email }, 201));
    const state = await submitLead(INITIAL_LEAD_FORM_STATE, form(complete));
    expect(JSON.parse(String(requestOf(fetchMock).init.body))).toEqual({
      name: "Ada",
      email: "ada@example.com",
      company: "AE Ltd",
      message: "Quote please",
    });
    expect(state.status).toBe("success");
    expect(state.values).toEqual({ name: "", email: "", company: "", message: "" });
  });

  it("attaches a backend 400 to the reported field", async () => {
    mockFetch().mockResolvedValue(jsonResponse({ error: "Company is blocked", field: "company" }, 400));
    const state = await submitLead(INITIAL_LEAD_FORM_STATE, form(complete));
    expect(state).toMatchObject({
      status: "error",
      message: "Company is blocked",
      fieldErrors: { company: "Company is blocked" },
    });
  });

  it("ignores an unknown field name from the backend but keeps the message", async () => {
    mockFetch().mockResolvedValue(jsonResponse({ error: "Bad payload", field: "phone" }, 400));
    const state = await submitLead(INITIAL_LEAD_FORM_STATE, form(complete));
    expect(state).toMatchObject({ status: "error", message: "Bad payload", fieldErrors: {} });
  });

  it("flags the email field on a duplicate (409)", async () => {
    mockFetch().mockResolvedValue(jsonResponse({ error: "duplicate" }, 409));
    const state = await submitLead(INITIAL_LEAD_FORM_STATE, form(complete));
    expect(state.status).toBe("error");
    if (state.status !== "error") return;
    expect(state.message).toMatch(/already registered/);
    expect(state.fieldErrors.email).toMatch(/already registered/);
    expect(state.values.email).toBe("ada@example.com");
  });

  it("reports an outage without throwing", async () => {
    mockFetch().mockRejectedValue(new TypeError("fetch failed"));
    const state = await submitLead(INITIAL_LEAD_FORM_STATE, form(complete));
    expect(state).toMatchObject({ status: "error", fieldErrors: {} });
    expect(state.status === "error" && state.message).toMatch(/unavailable/);
  });
});
