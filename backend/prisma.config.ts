import { defineConfig } from "prisma/config";

// `prisma generate` needs no database, so a missing DATABASE_URL must not break
// builds; `prisma migrate deploy` reports the missing URL itself.
export default defineConfig({
  schema: "prisma/schema.prisma",
  migrations: {
    path: "prisma/migrations",
  },
  datasource: {
    url: process.env.DATABASE_URL ?? "",
  },
});
