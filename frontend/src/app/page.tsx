import { LeadForm } from "@/components/LeadForm";
import { ProductList } from "@/components/ProductList";
import { BackendUnavailableError, listProducts, type Product } from "@/lib/api";
import { submitLead } from "./actions";

// Rendered per request: BACKEND_URL is only known at runtime and the
// catalogue must never be frozen into the build output.
export const dynamic = "force-dynamic";

async function loadProducts(): Promise<Product[] | null> {
  try {
    return await listProducts();
  } catch (error) {
    if (error instanceof BackendUnavailableError) {
      console.error(`Products unavailable: ${error.summary}`);
      return null;
    }
    throw error;
  }
}

export default async function HomePage() {
  const products = await loadProducts();

  return (
    <>
      <section className="hero">
        <h1>NEOSALE</h1>
        <p>Browse our catalogue and tell us what you need — our team will get back to you.</p>
      </section>

      <section aria-labelledby="products-heading" className="section">
        <h2 id="products-heading">Products</h2>
        {products === null ? (
          <p className="notice notice-error" role="alert" data-testid="products-unavailable">
            Products are unavailable right now: the backend service could not be reached. Please try again
            later.
          </p>
        ) : (
          <ProductList products={products} />
        )}
      </section>

      <section aria-labelledby="contact-heading" className="section">
        <h2 id="contact-heading">Request information</h2>
        <div className="card">
          <LeadForm action={submitLead} />
        </div>
      </section>
    </>
  );
}
