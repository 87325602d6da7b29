"use client";

import { useActionState, useState, type FormEvent } from "react";
import {
  INITIAL_LEAD_FORM_STATE,
  LEAD_LIMITS,
  hasErrors,
  leadFromFormData,
  validateLead,
  type LeadErrors,
  type LeadField,
  type LeadFormState,
} from "@/lib/lead";

export type LeadAction = (previous: LeadFormState, formData: FormData) => Promise<LeadFormState>;

interface LeadFormProps {
  action: LeadAction;
}

interface FieldProps {
  name: LeadField;
  label: string;
  error: string | undefined;
  defaultValue: string;
  required?: boolean;
  type?: "text" | "email";
  autoComplete?: string;
  multiline?: boolean;
}

function Field({ name, label, error, defaultValue, required, type = "text", autoComplete, multiline }: FieldProps) {
  const id = `lead-${name}`;
  const errorId = `${id}-error`;
  const common = {
    id,
    name,
    defaultValue,
    required,
    maxLength: LEAD_LIMITS[name],
    "aria-invalid": error ? true : undefined,
    "aria-describedby": error ? errorId : undefined,
  };

  return (
    <div className="field">
      <label htmlFor={id}>
        {label}
        {required ? <span aria-hidden="true"> *</span> : <span className="optional"> (optional)</span>}
      </label>
      {multiline ? (
        <textarea {...common} rows={4} />
      ) : (
        <input {...common} type={type} autoComplete={autoComplete} />
      )}
      {error ? (
        <p id={errorId} className="field-error" data-testid={`lead-${name}-error`}>
          {error}
        </p>
      ) : null}
    </div>
  );
}

export function LeadForm({ action }: LeadFormProps) {
  const [state, formAction, pending] = useActionState(action, INITIAL_LEAD_FORM_STATE);
  // Errors found in the browser; cleared as soon as a submission passes them.
  const [clientErrors, setClientErrors] = useState<LeadErrors>({});
  // Lets a fresh server response replace stale browser-side errors.
  const [clientMessage, setClientMessage] = useState<string | null>(null);

  function handleSubmit(event: FormEvent<HTMLFormElement>) {
    const errors = validateLead(leadFromFormData(new FormData(event.currentTarget)));
    if (hasErrors(errors)) {
      event.preventDefault();
      setClientErrors(errors);
      setClientMessage("Please correct the highlighted fields.");
      return;
    }
    setClientErrors({});
    setClientMessage(null);
  }

  const fieldErrors: LeadErrors =
    clientMessage !== null ? clientErrors : state.status === "error" ? state.fieldErrors : {};
  const errorMessage = clientMessage ?? (state.status === "error" ? state.message : null);
  const successMessage = clientMessage === null && state.status === "success" ? state.message : null;

  return (
    // noValidate: validation messages come from validateLead so they look the
    // same with or without JavaScript, and the server re-checks everything.
    <form action={formAction} onSubmit={handleSubmit} noValidate className="lead-form" data-testid="lead-form">
      <Field
        name="name"
        label="Name"
        required
        autoComplete="name"
        defaultValue={state.values.name}
        error={fieldErrors.name}
      />
      <Field
        name="email"
        label="Email"
        type="email"
        required
        autoComplete="email"
        defaultValue={state.values.email}
        error={fieldErrors.email}
      />
      <Field
        name="company"
        label="Company"
        autoComplete="organization"
        defaultValue={state.values.company}
        error={fieldErrors.company}
      />
      <Field name="message" label="Message" multiline defaultValue={state.values.message} error={fieldErrors.message} />

      <div aria-live="polite">
        {errorMessage ? (
          <p role="alert" className="notice notice-error" data-testid="lead-error">
            {errorMessage}
          </p>
        ) : null}
        {successMessage ? (
          <p role="status" className="notice notice-success" data-testid="lead-success">
            {successMessage}
          </p>
        ) : null}
      </div>

      <button type="submit" disabled={pending} data-testid="lead-submit">
        {pending ? "Sending…" : "Request information"}
      </button>
    </form>
  );
}
