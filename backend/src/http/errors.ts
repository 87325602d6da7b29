import type { ErrorRequestHandler, RequestHandler } from "express";
import type { Logger } from "../logger.js";

/** An error whose status, code and message are safe to send to the client. */
export class HttpError extends Error {
  constructor(
    public readonly status: number,
    public readonly code: string,
    message: string,
    public readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = "HttpError";
  }
}

export const notFound: RequestHandler = (req, res) => {
  res.status(404).json({ error: "not_found", message: `No route for ${req.method} ${req.path}` });
};

interface BodyParserError {
  type?: string;
  status?: number;
  limit?: number;
}

function isBodyParserError(err: unknown): err is BodyParserError {
  return typeof err === "object" && err !== null && "type" in err && typeof (err as BodyParserError).type === "string";
}

export function errorHandler(logger: Logger, bodyLimit: string): ErrorRequestHandler {
  return (err: unknown, req, res, next) => {
    if (res.headersSent) {
      next(err);
      return;
    }
    if (err instanceof HttpError) {
      res.status(err.status).json({ error: err.code, message: err.message, ...err.extra });
      return;
    }
    // body-parser errors carry a `type`; map the client-caused ones to clear 4xx answers.
    if (isBodyParserError(err)) {
      switch (err.type) {
        case "entity.too.large":
          res.status(413).json({ error: "payload_too_large", message: `Request body exceeds the ${bodyLimit} limit` });
          return;
        case "entity.parse.failed":
          res.status(400).json({ error: "invalid_json", message: "Request body is not valid JSON" });
          return;
        case "encoding.unsupported":
        case "charset.unsupported":
          res.status(415).json({ error: "unsupported_encoding", message: "Unsupported request body encoding" });
          return;
        case "request.aborted":
          res.status(400).json({ error: "request_aborted", message: "Request body was not fully received" });
          return;
        default:
          break;
      }
    }
    logger.error({ err, method: req.method, path: req.path }, "unhandled error");
    res.status(500).json({ error: "internal_error", message: "Internal server error" });
  };
}
