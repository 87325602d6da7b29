"use client";

// Last-resort boundary for unexpected rendering failures; backend outages are
// handled inline by each page and never reach this.
export default function ErrorPage({ error, retry }: { error: unknown; retry: () => void }) {
  const digest = error instanceof Error && "digest" in error ? String(error.digest) : null;
  return (
    <section className="section">
      <h1>Something went wrong</h1>
      <p className="notice notice-error" role="alert">
        An unexpected error occurred while loading this page.
        {digest ? <span className="muted"> Reference: {digest}</span> : null}
      </p>
      {/* retry() re-fetches the server-rendered segment, unlike reset(). */}
      <button type="button" onClick={() => retry()}>
        Try again
      </button>
    </section>
  );
}
