import { z } from "zod";
import { HttpError } from "./errors.js";

/** Empty optional form fields arrive as "" and mean "not given". */
const optionalText = (field: string, max: number) =>
  z
    .string({ error: `${field} must be a string` })
    .trim()
    .max(max, { error: `${field} must be at most ${max} characters` })
    .nullish()
    .transform((v) => (v ? v : undefined));

export const newLeadSchema = z.strictObject(
  {
    name: z
      .string({ error: "name is required and must be a string" })
      .trim()
      .min(1, { error: "name must not be empty" })
      .max(120, { error: "name must be at most 120 characters" }),
    email: z
      .string({ error: "email is required and must be a string" })
      .trim()
      .max(254, { error: "email must be at most 254 characters" })
      // Stored lower-cased so uniqueness is case-insensitive.
      .toLowerCase()
      .pipe(z.email({ error: "email must be a valid email address" })),
    company: optionalText("company", 120),
    message: optionalText("message", 2000),
  },
  { error: (issue) => (issue.code === "invalid_type" ? "Request body must be a JSON object" : undefined) },
);

export type NewLeadInput = z.infer<typeof newLeadSchema>;

const queryInt = (field: string, min: number, max: number, fallback: number) =>
  z
    .string({ error: `${field} must be a single integer` })
    .optional()
    .transform((raw, ctx) => {
      if (raw === undefined || raw === "") return fallback;
      const n = /^\d+$/.test(raw) ? Number(raw) : NaN;
      if (!Number.isSafeInteger(n) || n < min || n > max) {
        ctx.addIssue({ code: "custom", message: `${field} must be an integer between ${min} and ${max}` });
        return z.NEVER;
      }
      return n;
    });

export const MAX_PAGE_SIZE = 100;

export const pageQuerySchema = z.object({
  page: queryInt("page", 1, 100_000, 1),
  pageSize: queryInt("pageSize", 1, MAX_PAGE_SIZE, 20),
});

/** Parses or throws a 400 whose message and `field` name the first offending field. */
export function parseOrThrow<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  // Unknown fields are reported first: a misspelt key also makes its real field look "missing".
  const issues = [...result.error.issues].sort(
    (a, b) => Number(b.code === "unrecognized_keys") - Number(a.code === "unrecognized_keys"),
  );
  const details = issues.map((issue) => {
    if (issue.code === "unrecognized_keys") {
      return { field: issue.keys[0] ?? "", fields: issue.keys, message: `Unknown field(s): ${issue.keys.join(", ")}` };
    }
    const field = issue.path.map(String).join(".");
    return { field, message: issue.message };
  });
  const first = details[0] ?? { field: "", message: "Invalid input" };
  throw new HttpError(400, "validation_error", first.message, {
    ...(first.field ? { field: first.field } : {}),
    details,
  });
}
