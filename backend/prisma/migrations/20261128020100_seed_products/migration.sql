-- Seed the starter catalogue. ON CONFLICT keeps this safe where products already exist.
INSERT INTO "Product" ("sku", "name", "description", "priceCents", "currency") VALUES
    ('NEO-STARTER', 'NeoSale Starter', 'Lead capture forms and a shared inbox for small teams.', 2900, 'EUR'),
    ('NEO-GROWTH', 'NeoSale Growth', 'Pipeline automation, email sequences and reporting.', 7900, 'EUR'),
    ('NEO-SCALE', 'NeoSale Scale', 'Multi-team workspaces, SSO and priority support.', 19900, 'EUR'),
    ('NEO-ONBOARD', 'Guided Onboarding', 'Two expert sessions to import data and configure pipelines.', 49000, 'EUR')
ON CONFLICT ("sku") DO NOTHING;
