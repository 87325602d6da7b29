import { describe, expect, it } from "vitest";
import { LEAD_LIMITS, hasErrors, leadFromFormData, normalizeLead, validateLead, type LeadInput } from "@/lib/lead";

const valid: LeadInput = { name: "Ada Lovelace", email: "ada@example.com", company: "", message: "" };

describe("validateLead", () => {
  it("accepts a lead with only the required fields", () => {
    expect(validateLead(valid)).toEqual({});
    expect(hasErrors(validateLead(valid))).toBe(false);
  });

  it("requires name and email", () => {
    expect(validateLead({ ...valid, name: "", email: "" })).toEqual({
      name: "Name is required.",
      email: "Email is required.",
    });
  });

  it.each(["ada", "ada@", "@example.com", "ada@example", "ada lovelace@example.com", "ada@exa mple.com"])(
    "rejects the malformed email %j",
    (email) => {
      expect(validateLead({ ...valid, email }).email).toBe("Enter a valid email address.");
    },
  );

  it.each(["ada@example.com", "first.last+tag@sub.example.co.uk"])("accepts the email %j", (email) => {
    expect(validateLead({ ...valid, email })).toEqual({});
  });

  it("enforces maximum lengths at the boundary", () => {
    const atLimit = {
      name: "n".repeat(LEAD_LIMITS.name),
      email: `${"e".repeat(LEAD_LIMITS.email - "@example.com".length)}@example.com`,
      company: "c".repeat(LEAD_LIMITS.company),
      message: "m".repeat(LEAD_LIMITS.message),
    };
    expect(validateLead(atLimit)).toEqual({});

    const overLimit = {
      name: `${atLimit.name}n`,
      email: `e${atLimit.email}`,
      company: `${atLimit.company}c`,
      message: `${atLimit.message}m`,
    };
    expect(Object.keys(validateLead(overLimit)).sort()).toEqual(["company", "email", "message", "name"]);
  });
});

describe("normalizeLead / leadFromFormData", () => {
  it("trims text and turns missing or non-string values into empty strings", () => {
    expect(normalizeLead({ name: "  Ada  ", email: " ada@example.com\n", company: 42 })).toEqual({
      name: "Ada",
      email: "ada@example.com",
      company: "",
      message: "",
    });
  });

  it("treats whitespace-only required fields as missing", () => {
    expect(validateLead(normalizeLead({ name: "   ", email: "  " }))).toEqual({
      name: "Name is required.",
      email: "Email is required.",
    });
  });

  it("reads the four form fields", () => {
    const form = new FormData();
    form.set("name", "Ada");
    form.set("email", "ada@example.com");
    form.set("company", "Analytical Engines");
    form.set("message", "Hello");
    form.set("ignored", "x");
    expect(leadFromFormData(form)).toEqual({
      name: "Ada",
      email: "ada@example.com",
      company: "Analytical Engines",
      message: "Hello",
    });
  });
});
