// Run inside the backend image (cwd /app): what it ships, as JSON on stdout.
const fs = require("node:fs");
const path = require("node:path");

const specs = new Set();
const walk = (dir) => {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) walk(file);
    else if (file.endsWith(".js")) {
      const source = fs.readFileSync(file, "utf8");
      for (const m of source.matchAll(/["'](@prisma\/client\/runtime\/[^"']+)["']/g)) specs.add(m[1]);
    }
  }
};
walk("dist/generated/prisma");

const resolves = (spec) => {
  try {
    require.resolve(spec, { paths: [process.cwd()] });
    return true;
  } catch {
    return false;
  }
};

const devTools = ["prisma", "typescript", "vitest", "tsx", "eslint", "@prisma/studio-core"];
console.log(
  JSON.stringify({
    dev: devTools.filter((m) => fs.existsSync(`node_modules/${m}`)),
    specs: [...specs],
    unresolved: [...specs].filter((s) => !resolves(s)),
    server: fs.existsSync("dist/server.js"),
    migrate: fs.existsSync("dist/migrate.js"),
    migrations: fs.readdirSync("prisma/migrations").filter((d) => !d.endsWith(".toml")),
    sources: fs.existsSync("src"),
  }),
);
