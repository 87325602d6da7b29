import { randomBytes } from "node:crypto";
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { applyMigrations, MigrationError, sha256Hex } from "../../src/migrator.js";
import { integrationEnv, sql } from "./support.js";

// Each test migrates its own PostgreSQL schema (Prisma's `?schema=` URL parameter),
// so the shared database used by the API tests is left alone.
const committed = fileURLToPath(new URL("../../prisma/migrations", import.meta.url));
const { databaseUrl: baseUrl } = integrationEnv();

let schema: string;
let url: string;
let dir: string;

/** Runs a query with the test schema first on the search path. */
async function inSchema<T extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: baseUrl, options: `-c search_path="${schema}"` });
  await client.connect();
  try {
    return (await client.query<T>(text, values)).rows;
  } finally {
    await client.end();
  }
}

beforeEach(async () => {
  schema = `migtest_${randomBytes(4).toString("hex")}`;
  const u = new URL(baseUrl);
  u.searchParams.set("schema", schema);
  url = u.toString();
  dir = await mkdtemp(path.join(tmpdir(), "neosale-migrations-"));
  await cp(committed, dir, { recursive: true });
});

afterEach(async () => {
  await sql(baseUrl, `DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await rm(dir, { recursive: true, force: true });
});

async function migrationRows() {
  return inSchema<{
    id: string;
    migration_name: string;
    checksum: string;
    finished_at: Date | null;
    rolled_back_at: Date | null;
    applied_steps_count: number;
    logs: string | null;
  }>("SELECT * FROM _prisma_migrations ORDER BY migration_name");
}

describe("migration applier", () => {
  it("applies the committed migrations and records them as Prisma does", async () => {
    const result = await applyMigrations({ databaseUrl: url, migrationsDir: dir });
    expect(result.applied).toEqual(["20261128020000_init", "20261128020100_seed_products"]);
    expect(result.alreadyApplied).toEqual([]);

    const rows = await migrationRows();
    expect(rows.map((r) => r.migration_name)).toEqual(result.applied);
    for (const row of rows) {
      const file = await readFile(path.join(dir, row.migration_name, "migration.sql"));
      expect(row.checksum).toBe(sha256Hex(file));
      expect(row.id).toMatch(/^[0-9a-f-]{36}$/);
      expect(row.finished_at).toBeInstanceOf(Date);
      expect(row.rolled_back_at).toBeNull();
      expect(row.logs).toBeNull();
      expect(row.applied_steps_count).toBe(1);
    }

    const columns = await inSchema<{ column_name: string; data_type: string; is_nullable: string }>(
      `SELECT column_name, data_type, is_nullable FROM information_schema.columns
        WHERE table_schema = $1 AND table_name = '_prisma_migrations' ORDER BY ordinal_position`,
      [schema],
    );
    expect(columns.map((c) => [c.column_name, c.data_type, c.is_nullable])).toEqual([
      ["id", "character varying", "NO"],
      ["checksum", "character varying", "NO"],
      ["finished_at", "timestamp with time zone", "YES"],
      ["migration_name", "character varying", "NO"],
      ["logs", "text", "YES"],
      ["rolled_back_at", "timestamp with time zone", "YES"],
      ["started_at", "timestamp with time zone", "NO"],
      ["applied_steps_count", "integer", "NO"],
    ]);

    const products = await inSchema<{ n: string }>('SELECT count(*) AS n FROM "Product"');
    expect(Number(products[0]?.n)).toBeGreaterThanOrEqual(3);
  });

  it("is idempotent", async () => {
    await applyMigrations({ databaseUrl: url, migrationsDir: dir });
    const before = await migrationRows();
    const again = await applyMigrations({ databaseUrl: url, migrationsDir: dir });
    expect(again.applied).toEqual([]);
    expect(again.alreadyApplied).toEqual(before.map((r) => r.migration_name));
    expect(await migrationRows()).toEqual(before);
  });

  it("applies only the pending migration when a new one is added", async () => {
    await applyMigrations({ databaseUrl: url, migrationsDir: dir });
    await mkdir(path.join(dir, "20261201000000_add_source"));
    await writeFile(
      path.join(dir, "20261201000000_add_source", "migration.sql"),
      '-- AlterTable\nALTER TABLE "Lead" ADD COLUMN "source" TEXT;\n',
    );
    const result = await applyMigrations({ databaseUrl: url, migrationsDir: dir });
    expect(result.applied).toEqual(["20261201000000_add_source"]);
    const cols = await inSchema(
      "SELECT 1 FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'Lead' AND column_name = 'source'",
      [schema],
    );
    expect(cols).toHaveLength(1);
  });

  it("refuses to run when an applied migration was modified, naming it", async () => {
    await applyMigrations({ databaseUrl: url, migrationsDir: dir });
    const init = path.join(dir, "20261128020000_init", "migration.sql");
    await writeFile(init, `${await readFile(init, "utf8")}\n-- edited after deploy\n`);
    await mkdir(path.join(dir, "20261201000000_pending"));
    await writeFile(path.join(dir, "20261201000000_pending", "migration.sql"), 'CREATE TABLE "Pending" (id INT);\n');

    const attempt = applyMigrations({ databaseUrl: url, migrationsDir: dir });
    await expect(attempt).rejects.toBeInstanceOf(MigrationError);
    await expect(attempt).rejects.toMatchObject({ migration: "20261128020000_init" });
    await expect(attempt).rejects.toThrow(/20261128020000_init was modified/);
    // Nothing else ran.
    expect((await migrationRows()).map((r) => r.migration_name)).not.toContain("20261201000000_pending");
  });

  it("accepts an applied migration checked out with CRLF line endings", async () => {
    await applyMigrations({ databaseUrl: url, migrationsDir: dir });
    const init = path.join(dir, "20261128020000_init", "migration.sql");
    await writeFile(init, (await readFile(init, "utf8")).replaceAll("\n", "\r\n"));
    await expect(applyMigrations({ databaseUrl: url, migrationsDir: dir })).resolves.toMatchObject({ applied: [] });
  });

  it("rolls back a failing migration completely and records nothing for it", async () => {
    await mkdir(path.join(dir, "20261201000000_broken"));
    await writeFile(
      path.join(dir, "20261201000000_broken", "migration.sql"),
      'CREATE TABLE "Half" (id INT);\nSELECT * FROM "DoesNotExist";\n',
    );
    const attempt = applyMigrations({ databaseUrl: url, migrationsDir: dir });
    await expect(attempt).rejects.toThrow(/20261201000000_broken failed/);
    expect((await migrationRows()).map((r) => r.migration_name)).toEqual([
      "20261128020000_init",
      "20261128020100_seed_products",
    ]);
    const half = await inSchema("SELECT 1 FROM information_schema.tables WHERE table_schema = $1 AND table_name = 'Half'", [
      schema,
    ]);
    expect(half).toHaveLength(0);
  });

  it("refuses to continue past a migration Prisma recorded as failed", async () => {
    await applyMigrations({ databaseUrl: url, migrationsDir: dir });
    await inSchema(
      "INSERT INTO _prisma_migrations (id, checksum, migration_name, applied_steps_count) VALUES ($1, $2, $3, 0)",
      ["00000000-0000-4000-8000-000000000000", "0".repeat(64), "20261130000000_failed_elsewhere"],
    );
    await expect(applyMigrations({ databaseUrl: url, migrationsDir: dir })).rejects.toThrow(/20261130000000_failed_elsewhere/);
  });

  it("serialises concurrent runs with the advisory lock", async () => {
    const runs = await Promise.all(
      Array.from({ length: 3 }, () => applyMigrations({ databaseUrl: url, migrationsDir: dir })),
    );
    expect(runs.flatMap((r) => r.applied).sort()).toEqual(["20261128020000_init", "20261128020100_seed_products"]);
    expect(await migrationRows()).toHaveLength(2);
  });
});
