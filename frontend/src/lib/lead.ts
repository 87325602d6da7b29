// Lead form model shared by the browser (instant feedback) and the server
// function (authoritative check before calling the backend).

export const LEAD_FIELDS = ["name", "email", "company", "message"] as const;
export type LeadField = (typeof LEAD_FIELDS)[number];

export interface LeadInput {
  name: string;
  email: string;
  company: string;
  message: string;
}

export type LeadErrors = Partial<Record<LeadField, string>>;

export const LEAD_LIMITS: Record<LeadField, number> = {
  name: 120,
  email: 254,
  company: 120,
  message: 2000,
};

// Deliberately permissive: the backend owns the definitive rule, this only
// catches obvious typos before a round trip.
const EMAIL_PATTERN = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export const EMPTY_LEAD: LeadInput = { name: "", email: "", company: "", message: "" };

export function isLeadField(value: unknown): value is LeadField {
  return typeof value === "string" && (LEAD_FIELDS as readonly string[]).includes(value);
}

export function normalizeLead(raw: Partial<Record<LeadField, unknown>>): LeadInput {
  const text = (value: unknown) => (typeof value === "string" ? value.trim() : "");
  return {
    name: text(raw.name),
    email: text(raw.email),
    company: text(raw.company),
    message: text(raw.message),
  };
}

export function leadFromFormData(formData: FormData): LeadInput {
  return normalizeLead({
    name: formData.get("name"),
    email: formData.get("email"),
    company: formData.get("company"),
    message: formData.get("message"),
  });
}

/** Returns one message per invalid field; an empty object means valid. */
export function validateLead(input: LeadInput): LeadErrors {
  const errors: LeadErrors = {};

  if (input.name === "") {
    errors.name = "Name is required.";
  } else if (input.name.length > LEAD_LIMITS.name) {
    errors.name = `Name must be at most ${LEAD_LIMITS.name} characters.`;
  }

  if (input.email === "") {
    errors.email = "Email is required.";
  } else if (input.email.length > LEAD_LIMITS.email || !EMAIL_PATTERN.test(input.email)) {
    errors.email = "Enter a valid email address.";
  }

  if (input.company.length > LEAD_LIMITS.company) {
    errors.company = `Company must be at most ${LEAD_LIMITS.company} characters.`;
  }

  if (input.message.length > LEAD_LIMITS.message) {
    errors.message = `Message must be at most ${LEAD_LIMITS.message} characters.`;
  }

  return errors;
}

export function hasErrors(errors: LeadErrors): boolean {
  return Object.keys(errors).length > 0;
}

export type LeadFormState =
  | { status: "idle"; values: LeadInput }
  | { status: "success"; message: string; values: LeadInput }
  | { status: "error"; message: string; fieldErrors: LeadErrors; values: LeadInput };

export const INITIAL_LEAD_FORM_STATE: LeadFormState = { status: "idle", values: EMPTY_LEAD };
