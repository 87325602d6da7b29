/**
 * Prisma URLs may carry `?schema=name`, which node-postgres would forward to the
 * server as an unknown startup parameter. Split it out so both the Prisma adapter
 * and the migration applier target the same schema as `prisma migrate deploy`.
 */
export function splitSchemaParam(databaseUrl: string): { connectionString: string; schema: string | undefined } {
  const url = new URL(databaseUrl);
  const schema = url.searchParams.get("schema") ?? undefined;
  url.searchParams.delete("schema");
  return { connectionString: url.toString(), schema: schema || undefined };
}

/** Double-quotes an identifier for use in SQL (e.g. in search_path). */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
