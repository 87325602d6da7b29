import { expect, test, type Page } from "@playwright/test";

interface ApiProduct {
  sku: string;
  name: string;
}

// Unique per run and per test so reruns against the same database never collide.
function uniqueEmail(tag: string): string {
  const nonce = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
  return `e2e-${tag}-${nonce}@example.com`;
}

async function fillLeadForm(page: Page, lead: { name: string; email: string; company?: string; message?: string }) {
  const form = page.getByTestId("lead-form");
  await form.locator('[name="name"]').fill(lead.name);
  await form.locator('[name="email"]').fill(lead.email);
  await form.locator('[name="company"]').fill(lead.company ?? "");
  await form.locator('[name="message"]').fill(lead.message ?? "");
  await page.getByTestId("lead-submit").click();
}

test("home page loads", async ({ page }) => {
  const response = await page.goto("/");
  expect(response?.status()).toBe(200);
  await expect(page.getByRole("heading", { level: 1, name: "NEOSALE" })).toBeVisible();
  await expect(page.getByTestId("lead-form")).toBeVisible();
});

test("products render from the API", async ({ page, request }) => {
  const api = await request.get("/api/products");
  expect(api.status()).toBe(200);
  // The backend answers {items: [...]}; the frontend accepts a bare array too.
  const body = (await api.json()) as ApiProduct[] | { items: ApiProduct[] };
  const products = Array.isArray(body) ? body : body.items;
  expect(products.length).toBeGreaterThan(0);

  await page.goto("/");
  await expect(page.getByTestId("products-unavailable")).toHaveCount(0);
  const items = page.getByTestId("product-item");
  await expect(items.first()).toBeVisible();
  expect(await items.count()).toBeGreaterThan(0);
  await expect(items).toHaveCount(products.length);
  await expect(page.locator(`[data-testid="product-item"][data-sku="${products[0].sku}"]`)).toContainText(
    products[0].name,
  );
});

test("a lead submitted through the form appears in /leads", async ({ page }) => {
  const email = uniqueEmail("lead");
  await page.goto("/");
  await fillLeadForm(page, {
    name: "E2E Journey",
    email,
    company: "NEOSALE QA",
    message: "Created by the end-to-end suite.",
  });
  await expect(page.getByTestId("lead-success")).toBeVisible();
  await expect(page.getByTestId("lead-error")).toHaveCount(0);

  await page.goto("/leads");
  // "leads-unavailable" here usually means the backend requires LEADS_API_TOKEN.
  await expect(page.getByTestId("leads-unavailable")).toHaveCount(0);
  const row = page.getByTestId("lead-row").filter({ hasText: email });
  await expect(row).toHaveCount(1);
  await expect(row).toContainText("E2E Journey");
  await expect(row).toContainText("NEOSALE QA");
});

test("a duplicate email shows the already-registered message", async ({ page, request }) => {
  const email = uniqueEmail("dup");
  const first = await request.post("/api/leads", { data: { name: "E2E First", email } });
  expect(first.status()).toBe(201);

  await page.goto("/");
  await fillLeadForm(page, { name: "E2E Second", email });
  await expect(page.getByTestId("lead-email-error")).toHaveText("This email is already registered.");
  await expect(page.getByTestId("lead-error")).toBeVisible();
  await expect(page.getByTestId("lead-success")).toHaveCount(0);
});
