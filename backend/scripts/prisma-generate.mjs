// Generates the Prisma client into src/generated/prisma (postinstall and prebuild).
//
// `prisma generate` only needs the WASM query compiler, but the CLI still tries
// to download the native schema engine unless PRISMA_SCHEMA_ENGINE_BINARY points
// at an existing file; pointing it at node itself keeps generation offline.
// Production installs (npm ci --omit=dev) have no prisma CLI and skip this: the
// compiled client already ships inside dist/.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
let cli;
try {
  cli = require.resolve("prisma/build/index.js");
} catch {
  console.log("prisma-generate: prisma CLI not installed (production install), skipping");
  process.exit(0);
}

const env = { ...process.env };
if (!env.PRISMA_SCHEMA_ENGINE_BINARY || !existsSync(env.PRISMA_SCHEMA_ENGINE_BINARY)) {
  env.PRISMA_SCHEMA_ENGINE_BINARY = process.execPath;
}
const result = spawnSync(process.execPath, [cli, "generate"], { stdio: "inherit", env });
process.exit(result.status ?? 1);
