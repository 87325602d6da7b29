// Test stand-in for both NEOSALE apps: answers /health, /ready, /version and
// any other path with its version and colour. FAIL_READY=always fails /ready
// everywhere; FAIL_READY=live fails it only behind the router's live port.
"use strict";
const http = require("http");
const version = process.env.APP_VERSION || "v0";
const colour = process.env.NEOSALE_COLOUR || "none";
const role = process.env.NEOSALE_ROLE || "app";
const failReady = process.env.FAIL_READY || "";
const port = Number(process.env.PORT || 3000);

const server = http.createServer((req, res) => {
  let status = 200;
  if (req.url === "/ready" || req.url === "/api/ready") {
    const via = req.headers["x-neosale-via"] || "";
    if (failReady === "always" || (failReady === "live" && via === "live")) status = 503;
  }
  const body = JSON.stringify({ version, colour, role, path: req.url, status });
  res.writeHead(status, { "content-type": "application/json", "x-app-version": version });
  res.end(body);
});
server.keepAliveTimeout = 65000;
server.listen(port, "0.0.0.0");
process.on("SIGTERM", () => server.close(() => process.exit(0)));
