// Run inside the frontend image (cwd /app): what it ships, as JSON on stdout.
const fs = require("node:fs");

const devTools = ["typescript", "eslint", "vitest", "@next/swc-linux-x64-gnu", "@next/swc-linux-x64-musl"];
console.log(
  JSON.stringify({
    server: fs.existsSync("server.js"),
    static: fs.existsSync(".next/static"),
    public: fs.existsSync("public"),
    dev: devTools.filter((m) => fs.existsSync(`node_modules/${m}`)),
    sources: fs.existsSync("src"),
  }),
);
