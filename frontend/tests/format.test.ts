import { describe, expect, it } from "vitest";
import { formatDateTime, formatPrice } from "@/lib/format";

describe("formatPrice", () => {
  it("formats cents as currency", () => {
    expect(formatPrice(1999, "USD")).toBe("$19.99");
    expect(formatPrice(0, "USD")).toBe("$0.00");
    expect(formatPrice(123456, "EUR")).toBe("€1,234.56");
  });

  it("falls back to a plain amount for an unknown currency code", () => {
    expect(formatPrice(1050, "not-a-currency")).toBe("10.50 not-a-currency");
  });
});

describe("formatDateTime", () => {
  it("formats ISO timestamps in UTC and tolerates missing or invalid input", () => {
    expect(formatDateTime("2024-05-01T23:30:00.000Z")).toBe("May 1, 2024, 11:30 PM");
    expect(formatDateTime(null)).toBe("—");
    expect(formatDateTime("yesterday")).toBe("—");
  });
});
