import { createHash, randomUUID } from "node:crypto";
import { readdir, readFile, stat } from "node:fs/promises";
import path from "node:path";
import pg from "pg";
import { quoteIdent, splitSchemaParam } from "./data/pg-url.js";

/**
 * Applies each prisma/migrations/<name>/migration.sql without Prisma's native schema
 * engine, bookkeeping exactly as `prisma migrate deploy` does so both tools
 * can be used on the same database in any order.
 */

/** Same key as Prisma Migrate, so this applier and `prisma migrate deploy` never run concurrently. */
export const PRISMA_MIGRATE_LOCK_KEY = 72707369;

// Prisma's own definition (schema engine, PostgreSQL flavour).
const CREATE_MIGRATIONS_TABLE = `CREATE TABLE IF NOT EXISTS _prisma_migrations (
    id                      VARCHAR(36) PRIMARY KEY NOT NULL,
    checksum                VARCHAR(64) NOT NULL,
    finished_at             TIMESTAMPTZ,
    migration_name          VARCHAR(255) NOT NULL,
    logs                    TEXT,
    rolled_back_at          TIMESTAMPTZ,
    started_at              TIMESTAMPTZ NOT NULL DEFAULT now(),
    applied_steps_count     INTEGER NOT NULL DEFAULT 0
)`;

export class MigrationError extends Error {
  constructor(
    message: string,
    public readonly migration?: string,
  ) {
    super(message);
    this.name = "MigrationError";
  }
}

export interface LocalMigration {
  name: string;
  sql: Buffer;
  checksum: string;
}

export interface ApplyResult {
  applied: string[];
  alreadyApplied: string[];
}

export interface ApplyOptions {
  databaseUrl: string;
  migrationsDir: string;
  lockTimeoutMs?: number;
  log?: (message: string) => void;
}

export function sha256Hex(data: Buffer | string): string {
  return createHash("sha256").update(data).digest("hex");
}

/**
 * Prisma accepts a recorded checksum if it matches the script as-is or with
 * CRLF/LF line endings swapped, and tolerates old non-zero-padded hex strings.
 */
export function checksumMatches(script: Buffer, recorded: string): boolean {
  const text = script.toString("utf8");
  const variants = [script, text.replaceAll("\r\n", "\n"), text.replaceAll("\r\n", "\n").replaceAll("\n", "\r\n")];
  return variants.some((variant) => {
    const digest = createHash("sha256").update(variant).digest();
    if (recorded.length === 64) return digest.toString("hex") === recorded;
    return Array.from(digest, (b) => b.toString(16)).join("") === recorded;
  });
}

/** Migration directories in the order Prisma applies them (lexicographic by name). */
export async function readMigrations(migrationsDir: string): Promise<LocalMigration[]> {
  let entries: string[];
  try {
    entries = await readdir(migrationsDir);
  } catch (err) {
    throw new MigrationError(`Cannot read migrations directory ${migrationsDir}: ${(err as Error).message}`);
  }
  const migrations: LocalMigration[] = [];
  for (const name of entries.sort()) {
    const dir = path.join(migrationsDir, name);
    if (!(await stat(dir)).isDirectory()) continue;
    let sql: Buffer;
    try {
      sql = await readFile(path.join(dir, "migration.sql"));
    } catch {
      throw new MigrationError(`Migration ${name} has no migration.sql`, name);
    }
    migrations.push({ name, sql, checksum: sha256Hex(sql) });
  }
  return migrations;
}

interface MigrationRow {
  migration_name: string;
  checksum: string;
  finished_at: Date | null;
  rolled_back_at: Date | null;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function acquireLock(client: pg.Client, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { rows } = await client.query<{ locked: boolean }>("SELECT pg_try_advisory_lock($1) AS locked", [
      PRISMA_MIGRATE_LOCK_KEY,
    ]);
    if (rows[0]?.locked) return;
    if (Date.now() >= deadline) {
      throw new MigrationError(`Timed out after ${timeoutMs}ms waiting for the migration advisory lock`);
    }
    await sleep(200);
  }
}

export async function applyMigrations(opts: ApplyOptions): Promise<ApplyResult> {
  const log = opts.log ?? (() => {});
  const local = await readMigrations(opts.migrationsDir);
  const { connectionString, schema } = splitSchemaParam(opts.databaseUrl);
  const client = new pg.Client({ connectionString });
  await client.connect();
  try {
    // Lock first: concurrent `CREATE SCHEMA IF NOT EXISTS` races in
    // PostgreSQL (a unique violation on pg_namespace), so it runs under the lock.
    await acquireLock(client, opts.lockTimeoutMs ?? 30_000);
    try {
      if (schema) {
        // Prisma's `?schema=` creates the schema on first deploy; mirror that.
        await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`);
        await client.query(`SET search_path TO ${quoteIdent(schema)}`);
      }
      await client.query(CREATE_MIGRATIONS_TABLE);
      const { rows } = await client.query<MigrationRow>(
        "SELECT migration_name, checksum, finished_at, rolled_back_at FROM _prisma_migrations ORDER BY started_at",
      );

      // Same refusal as Prisma's P3009: a failed migration must be resolved by a human first.
      const failed = rows.filter((r) => r.finished_at === null && r.rolled_back_at === null);
      if (failed.length > 0) {
        const names = failed.map((r) => r.migration_name).join(", ");
        throw new MigrationError(
          `Failed migration(s) found in the database: ${names}. Resolve them (prisma migrate resolve) before applying new ones.`,
          failed[0]?.migration_name,
        );
      }

      const applied = new Map<string, MigrationRow>();
      for (const row of rows) {
        if (row.finished_at !== null && row.rolled_back_at === null) applied.set(row.migration_name, row);
      }
      for (const migration of local) {
        const row = applied.get(migration.name);
        if (row && !checksumMatches(migration.sql, row.checksum)) {
          throw new MigrationError(
            `Migration ${migration.name} was modified after it was applied (recorded checksum ${row.checksum}, file checksum ${migration.checksum})`,
            migration.name,
          );
        }
      }
      const localNames = new Set(local.map((m) => m.name));
      for (const name of applied.keys()) {
        if (!localNames.has(name)) log(`warning: migration ${name} is recorded in the database but missing locally`);
      }

      const result: ApplyResult = { applied: [], alreadyApplied: [] };
      for (const migration of local) {
        if (applied.has(migration.name)) {
          result.alreadyApplied.push(migration.name);
          continue;
        }
        log(`applying ${migration.name}`);
        await client.query("BEGIN");
        try {
          // started_at = now() is the transaction start; finished_at uses the wall clock after the script.
          await client.query(migration.sql.toString("utf8"));
          await client.query(
            `INSERT INTO _prisma_migrations (id, checksum, finished_at, migration_name, logs, rolled_back_at, started_at, applied_steps_count)
             VALUES ($1, $2, clock_timestamp(), $3, NULL, NULL, now(), 1)`,
            [randomUUID(), migration.checksum, migration.name],
          );
          await client.query("COMMIT");
        } catch (err) {
          await client.query("ROLLBACK").catch(() => {});
          throw new MigrationError(`Migration ${migration.name} failed and was rolled back: ${(err as Error).message}`, migration.name);
        }
        result.applied.push(migration.name);
      }
      return result;
    } finally {
      await client.query("SELECT pg_advisory_unlock($1)", [PRISMA_MIGRATE_LOCK_KEY]).catch(() => {});
    }
  } finally {
    await client.end();
  }
}
