"use strict";
// Test migration: MIGRATE_FAIL makes it fail like a broken migration would.
if (process.env.MIGRATE_FAIL) {
  console.error("migrate: 0002_add_column failed: column already exists");
  process.exit(1);
}
console.log(`migrate: 1 applied (${process.env.APP_VERSION})`);
