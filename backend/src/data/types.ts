/** Repository and cache contracts: the HTTP layer depends only on these, so tests can pass fakes. */

export interface ProductDto {
  id: number;
  sku: string;
  name: string;
  description: string;
  priceCents: number;
  currency: string;
  createdAt: string;
}

export interface LeadDto {
  id: number;
  name: string;
  email: string;
  company: string | null;
  message: string | null;
  createdAt: string;
}

export interface NewLead {
  name: string;
  email: string;
  company?: string | undefined;
  message?: string | undefined;
}

export interface Page<T> {
  items: T[];
  total: number;
}

/** Raised by a lead repository when the email is already registered. */
export class DuplicateLeadError extends Error {
  constructor(public readonly field: string) {
    super(`A lead with this ${field} already exists`);
    this.name = "DuplicateLeadError";
  }
}

export interface LeadRepository {
  create(lead: NewLead): Promise<LeadDto>;
  list(offset: number, limit: number): Promise<Page<LeadDto>>;
}

export interface ProductRepository {
  list(): Promise<ProductDto[]>;
}

export interface Cache {
  get(key: string): Promise<string | null>;
  set(key: string, value: string, ttlSeconds: number): Promise<void>;
}

/** A named dependency probe for /ready; it rejects when the dependency is unusable. */
export type ReadinessCheck = () => Promise<unknown>;
