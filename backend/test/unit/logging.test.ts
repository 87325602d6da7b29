import { Writable } from "node:stream";
import request from "supertest";
import { describe, expect, it } from "vitest";
import { createLogger } from "../../src/logger.js";
import { makeApp } from "./fakes.js";

describe("request logging", () => {
  it("writes JSON lines without bodies, query strings or credentials", async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        lines.push(...chunk.toString().split("\n").filter(Boolean));
        cb();
      },
    });
    const { app } = makeApp({ logger: createLogger("info", sink), settings: { leadsApiToken: "top-secret-token" } });

    await request(app)
      .post("/api/leads")
      .set("Cookie", "session=cookie-secret")
      .send({ name: "Private Person", email: "private@example.com", message: "confidential note" })
      .expect(201);
    await request(app).get("/api/leads?email=private@example.com").set("Authorization", "Bearer top-secret-token");

    const text = lines.join("\n");
    expect(lines.length).toBeGreaterThanOrEqual(2);
    for (const line of lines) expect(() => JSON.parse(line) as unknown).not.toThrow();
    const completed = lines.map((l) => JSON.parse(l) as { msg: string; req?: { path: string } }).filter((l) => l.req);
    expect(completed.map((l) => l.req?.path)).toEqual(["/api/leads", "/api/leads"]);
    for (const secret of ["private@example.com", "Private Person", "confidential note", "top-secret-token", "cookie-secret"]) {
      expect(text).not.toContain(secret);
    }
  });
});
