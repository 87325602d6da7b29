import { createHash } from "node:crypto";
import { mkdtemp, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { checksumMatches, MigrationError, readMigrations, sha256Hex } from "../../src/migrator.js";

const committed = fileURLToPath(new URL("../../prisma/migrations", import.meta.url));
let tmp: string | undefined;

afterEach(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
  tmp = undefined;
});

describe("readMigrations", () => {
  it("lists the committed migrations in order with sha256 checksums of the files", async () => {
    const migrations = await readMigrations(committed);
    expect(migrations.length).toBeGreaterThanOrEqual(2);
    expect(migrations[0]?.name).toMatch(/^\d{14}_init$/);
    const names = migrations.map((m) => m.name);
    expect(names).toEqual([...names].sort());
    for (const m of migrations) {
      const file = await readFile(path.join(committed, m.name, "migration.sql"));
      expect(m.checksum).toBe(createHash("sha256").update(file).digest("hex"));
      expect(m.checksum).toMatch(/^[0-9a-f]{64}$/);
    }
  });

  it("ignores files such as migration_lock.toml and rejects a directory without migration.sql", async () => {
    tmp = await mkdtemp(path.join(tmpdir(), "neosale-mig-"));
    await writeFile(path.join(tmp, "migration_lock.toml"), 'provider = "postgresql"\n');
    await mkdir(path.join(tmp, "20260101000000_a"));
    await writeFile(path.join(tmp, "20260101000000_a", "migration.sql"), "SELECT 1;\n");
    expect((await readMigrations(tmp)).map((m) => m.name)).toEqual(["20260101000000_a"]);
    await mkdir(path.join(tmp, "20260101000001_b"));
    await expect(readMigrations(tmp)).rejects.toThrow(MigrationError);
    await expect(readMigrations(tmp)).rejects.toThrow(/20260101000001_b/);
  });
});

describe("checksumMatches", () => {
  const script = Buffer.from("CREATE TABLE a (id INT);\nCREATE TABLE b (id INT);\n");

  it("matches the sha256 hex of the file", () => {
    expect(checksumMatches(script, sha256Hex(script))).toBe(true);
    expect(checksumMatches(Buffer.from(`${script.toString()}-- edited\n`), sha256Hex(script))).toBe(false);
  });

  it("accepts the same script with other line endings, as Prisma does", () => {
    const crlf = Buffer.from(script.toString().replaceAll("\n", "\r\n"));
    expect(checksumMatches(crlf, sha256Hex(script))).toBe(true);
    expect(checksumMatches(script, sha256Hex(crlf))).toBe(true);
  });

  it("accepts legacy checksums written without zero padding", () => {
    // Find a script whose digest has a byte below 0x10, so the legacy form is shorter.
    let candidate = script;
    for (let i = 0; createHash("sha256").update(candidate).digest().every((b) => b >= 16); i++) {
      candidate = Buffer.from(`SELECT ${i};\n`);
    }
    const legacy = Array.from(createHash("sha256").update(candidate).digest(), (b) => b.toString(16)).join("");
    expect(legacy.length).toBeLessThan(64);
    expect(checksumMatches(candidate, legacy)).toBe(true);
    expect(checksumMatches(candidate, legacy.slice(1))).toBe(false);
  });
});
