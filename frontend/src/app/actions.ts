"use server";

import { createLead } from "@/lib/api";
import {
  EMPTY_LEAD,
  hasErrors,
  isLeadField,
  leadFromFormData,
  validateLead,
  type LeadFormState,
} from "@/lib/lead";

// Runs on the Next.js server, so the browser only ever talks to this origin
// and never needs to know where the backend lives.
export async function submitLead(_previous: LeadFormState, formData: FormData): Promise<LeadFormState> {
  const values = leadFromFormData(formData);

  const fieldErrors = validateLead(values);
  if (hasErrors(fieldErrors)) {
    return { status: "error", message: "Please correct the highlighted fields.", fieldErrors, values };
  }

  const result = await createLead(values);
  if (result.ok) {
    return {
      status: "success",
      message: "Thanks! Your request has been received. We will contact you soon.",
      values: EMPTY_LEAD,
    };
  }

  if (result.kind === "unavailable") {
    return { status: "error", message: result.error, fieldErrors: {}, values };
  }

  const field = isLeadField(result.field) ? result.field : null;
  return {
    status: "error",
    message: result.error,
    fieldErrors: field ? { [field]: result.error } : {},
    values,
  };
}
