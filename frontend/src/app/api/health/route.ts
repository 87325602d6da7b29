// Liveness probe for containers and load balancers. It deliberately does not
// call the backend, so a backend outage never restarts healthy frontends.
export const dynamic = "force-dynamic";

export function GET(): Response {
  return Response.json(
    { status: "ok", service: "neosale-frontend" },
    { status: 200, headers: { "Cache-Control": "no-store" } },
  );
}
