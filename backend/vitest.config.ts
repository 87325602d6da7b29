import { defineConfig } from "vitest/config";

// Unit tests: no PostgreSQL or Redis needed.
export default defineConfig({
  test: {
    include: ["test/unit/**/*.test.ts"],
    environment: "node",
    testTimeout: 15_000,
  },
});
