import type { Product } from "@/lib/api";
import { formatPrice } from "@/lib/format";

export function ProductList({ products }: { products: Product[] }) {
  if (products.length === 0) {
    return (
      <p className="notice" data-testid="products-empty">
        No products are available yet.
      </p>
    );
  }

  return (
    <ul className="product-grid" data-testid="product-list">
      {products.map((product) => (
        <li key={product.id} className="card product" data-testid="product-item" data-sku={product.sku}>
          <h3 className="product-name">{product.name}</h3>
          {product.description ? <p className="product-description">{product.description}</p> : null}
          <p className="product-meta">
            <span className="product-price" data-testid="product-price">
              {formatPrice(product.priceCents, product.currency)}
            </span>
            <span className="product-sku">SKU {product.sku}</span>
          </p>
        </li>
      ))}
    </ul>
  );
}
