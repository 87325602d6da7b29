import { fileURLToPath } from "node:url";
import { applyMigrations, MigrationError } from "./migrator.js";

// CLI: `node dist/migrate.js [migrationsDir]` (or `npm run migrate:apply`).
// Needs only DATABASE_URL; the default directory is the package's prisma/migrations.
async function main(): Promise<number> {
  const databaseUrl = process.env.DATABASE_URL?.trim();
  if (!databaseUrl) {
    console.error("migrate: DATABASE_URL is required");
    return 1;
  }
  const migrationsDir =
    process.argv[2] ?? process.env.MIGRATIONS_DIR ?? fileURLToPath(new URL("../prisma/migrations", import.meta.url));
  try {
    const result = await applyMigrations({
      databaseUrl,
      migrationsDir,
      log: (message) => console.log(`migrate: ${message}`),
    });
    console.log(
      `migrate: ${result.applied.length} applied, ${result.alreadyApplied.length} already applied (${migrationsDir})`,
    );
    return 0;
  } catch (err) {
    const message = err instanceof MigrationError ? err.message : `unexpected error: ${(err as Error).message}`;
    console.error(`migrate: ${message}`);
    return 1;
  }
}

process.exitCode = await main();
