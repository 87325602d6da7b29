import type { Metadata } from "next";
import Link from "next/link";
import { BackendUnavailableError, listLeads, type LeadPage } from "@/lib/api";
import { formatDateTime } from "@/lib/format";

export const dynamic = "force-dynamic";

export const metadata: Metadata = {
  title: "Recent leads",
  // Contact details must not end up in search engines.
  robots: { index: false, follow: false },
};

const PAGE_SIZE = 20;

function parsePage(value: string | string[] | undefined): number {
  const raw = Array.isArray(value) ? value[0] : value;
  const page = Number(raw);
  return Number.isInteger(page) && page > 0 ? page : 1;
}

async function loadLeads(page: number): Promise<LeadPage | null> {
  try {
    return await listLeads(page, PAGE_SIZE);
  } catch (error) {
    if (error instanceof BackendUnavailableError) {
      console.error(`Leads unavailable: ${error.summary}`);
      return null;
    }
    throw error;
  }
}

export default async function LeadsPage({
  searchParams,
}: {
  searchParams: Promise<Record<string, string | string[] | undefined>>;
}) {
  const page = parsePage((await searchParams).page);
  const data = await loadLeads(page);

  return (
    <section className="section">
      <h1>Recent leads</h1>
      {data === null ? (
        <p className="notice notice-error" role="alert" data-testid="leads-unavailable">
          Leads are unavailable right now: the backend service could not be reached. Please try again later.
        </p>
      ) : data.items.length === 0 ? (
        <p className="notice" data-testid="leads-empty">
          No leads yet.
        </p>
      ) : (
        <LeadTable data={data} />
      )}
    </section>
  );
}

function LeadTable({ data }: { data: LeadPage }) {
  const totalPages = Math.max(1, Math.ceil(data.total / data.pageSize));
  return (
    <>
      <p className="muted" data-testid="leads-total">
        {data.total} {data.total === 1 ? "lead" : "leads"} in total
      </p>
      <div className="table-wrap">
        <table className="leads-table">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Email</th>
              <th scope="col">Company</th>
              <th scope="col">Message</th>
              <th scope="col">Received (UTC)</th>
            </tr>
          </thead>
          <tbody>
            {data.items.map((lead) => (
              <tr key={lead.id} data-testid="lead-row">
                <td>{lead.name}</td>
                <td>{lead.email}</td>
                <td>{lead.company ?? "—"}</td>
                <td className="message-cell">{lead.message ?? "—"}</td>
                <td>{formatDateTime(lead.createdAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <nav className="pagination" aria-label="Pagination">
        {data.page > 1 ? <Link href={`/leads?page=${data.page - 1}`}>← Previous</Link> : <span />}
        <span>
          Page {data.page} of {totalPages}
        </span>
        {data.page < totalPages ? <Link href={`/leads?page=${data.page + 1}`}>Next →</Link> : <span />}
      </nav>
    </>
  );
}
