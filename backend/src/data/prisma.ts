import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaClient, Prisma } from "../generated/prisma/client.js";
import type { Logger } from "../logger.js";
import { splitSchemaParam } from "./pg-url.js";
import {
  DuplicateLeadError,
  type LeadDto,
  type LeadRepository,
  type NewLead,
  type Page,
  type ProductDto,
  type ProductRepository,
} from "./types.js";

export type Db = PrismaClient;

export interface DbOptions {
  databaseUrl: string;
  poolMax: number;
  /** Bounds how long a query waits for a connection, so /ready fails fast instead of hanging. */
  connectionTimeoutMs: number;
  logger: Logger;
}

export function createPrisma(opts: DbOptions): Db {
  const { connectionString, schema } = splitSchemaParam(opts.databaseUrl);
  const adapter = new PrismaPg(
    { connectionString, max: opts.poolMax, connectionTimeoutMillis: opts.connectionTimeoutMs },
    {
      ...(schema ? { schema } : {}),
      onPoolError: (err) => opts.logger.warn({ err: err.message }, "postgres pool error"),
    },
  );
  return new PrismaClient({ adapter });
}

const toProductDto = (p: {
  id: number;
  sku: string;
  name: string;
  description: string;
  priceCents: number;
  currency: string;
  createdAt: Date;
}): ProductDto => ({ ...p, createdAt: p.createdAt.toISOString() });

const toLeadDto = (l: {
  id: number;
  name: string;
  email: string;
  company: string | null;
  message: string | null;
  createdAt: Date;
}): LeadDto => ({ ...l, createdAt: l.createdAt.toISOString() });

export class PrismaProductRepository implements ProductRepository {
  constructor(private readonly db: Db) {}

  async list(): Promise<ProductDto[]> {
    const rows = await this.db.product.findMany({ orderBy: { id: "asc" } });
    return rows.map(toProductDto);
  }
}

export class PrismaLeadRepository implements LeadRepository {
  constructor(private readonly db: Db) {}

  async create(lead: NewLead): Promise<LeadDto> {
    try {
      const row = await this.db.lead.create({
        data: {
          name: lead.name,
          email: lead.email,
          company: lead.company ?? null,
          message: lead.message ?? null,
        },
      });
      return toLeadDto(row);
    } catch (err) {
      // P2002 = unique constraint violation; the only unique column besides the id is email.
      if (err instanceof Prisma.PrismaClientKnownRequestError && err.code === "P2002") {
        throw new DuplicateLeadError("email");
      }
      throw err;
    }
  }

  async list(offset: number, limit: number): Promise<Page<LeadDto>> {
    const [rows, total] = await this.db.$transaction([
      this.db.lead.findMany({ orderBy: [{ createdAt: "desc" }, { id: "desc" }], skip: offset, take: limit }),
      this.db.lead.count(),
    ]);
    return { items: rows.map(toLeadDto), total };
  }
}

export async function pingDatabase(db: Db): Promise<void> {
  await db.$queryRaw`SELECT 1`;
}
