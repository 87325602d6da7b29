import { existsSync } from "node:fs";

import { defineConfig, devices } from "@playwright/test";

// The stack under test: nginx in front of the frontend and backend, e.g. from
// `scripts/stack-local.sh start` or a staging deployment.
const baseURL = process.env.BASE_URL ?? "http://127.0.0.1:58080";

// A system Chromium (Debian's, in the air-gapped image) is used as is and no
// browser is downloaded; the official Playwright image (pinned to this
// package's version) has none, and brings its own.
const systemChromium = "/usr/bin/chromium";
const executablePath =
  process.env.CHROMIUM_PATH ?? (existsSync(systemChromium) ? systemChromium : undefined);

export default defineConfig({
  testDir: "./tests",
  timeout: 60_000,
  expect: { timeout: 15_000 },
  // The journeys share one database; a single worker also suits small CI machines.
  fullyParallel: false,
  workers: 1,
  forbidOnly: Boolean(process.env.CI),
  retries: 0,
  outputDir: "reports/test-results",
  reporter: [
    ["list"],
    ["junit", { outputFile: "reports/junit.xml" }],
    ["html", { open: "never", outputFolder: "reports/html" }],
  ],
  use: {
    baseURL,
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
    navigationTimeout: 30_000,
    actionTimeout: 15_000,
  },
  projects: [
    {
      name: "chromium",
      use: {
        ...devices["Desktop Chrome"],
        launchOptions: {
          executablePath,
          args: [
            "--no-sandbox",
            "--headless",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
          ],
        },
      },
    },
  ],
});
