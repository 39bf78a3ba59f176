/** RFC 9457 problem details: every error the service answers, naming the field at fault. */

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  field?: string;
}

export class Problem extends Error {
  constructor(
    readonly status: number,
    readonly slug: string,
    readonly title: string,
    readonly detail: string,
    readonly field?: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(detail);
  }

  body(): ProblemBody {
    return {
      type: `urn:flts:problem:${this.slug}`,
      title: this.title,
      status: this.status,
      detail: this.detail,
      ...(this.field === undefined ? {} : { field: this.field }),
    };
  }
}

export const PROBLEM_CONTENT_TYPE = "application/problem+json";

export const invalidField = (field: string, detail: string): Problem =>
  new Problem(400, "invalid-field", "Invalid request field", `${field}: ${detail}`, field);

export const malformedJson = (detail: string): Problem =>
  new Problem(400, "malformed-json", "Request body is not valid JSON", detail, "(body)");

export const unknownIdentifier = (identifier: string): Problem =>
  new Problem(
    400,
    "unknown-identifier",
    "Unknown identifier",
    `identifier: no model is promoted for '${identifier}'`,
    "identifier",
  );

export const bodyTooLarge = (limit: number): Problem =>
  new Problem(413, "body-too-large", "Request body too large", `the body exceeds ${limit} bytes`);

export const queueFull = (retryAfterSeconds: number): Problem =>
  new Problem(429, "queue-full", "Too many requests", "the inference queue is full; retry later", undefined, {
    "Retry-After": String(retryAfterSeconds),
  });

export const queueTimeout = (ttlMs: number): Problem =>
  new Problem(
    503,
    "queue-timeout",
    "Request expired in queue",
    `the request waited longer than ${ttlMs} ms`,
    undefined,
    { "Retry-After": "1" },
  );

export const noModel = (identifier: string): Problem =>
  new Problem(503, "no-model", "No model loaded", `no model is loaded yet for '${identifier}'`, undefined, {
    "Retry-After": "1",
  });

export const unavailable = (detail: string): Problem =>
  new Problem(503, "unavailable", "Service unavailable", detail, undefined, { "Retry-After": "1" });

export const notFound = (path: string): Problem =>
  new Problem(404, "not-found", "Not found", `no route for ${path}`);

export const methodNotAllowed = (method: string, path: string, allow: string): Problem =>
  new Problem(
    405,
    "method-not-allowed",
    "Method not allowed",
    `${path} answers ${allow}, not ${method}`,
    undefined,
    {
      Allow: allow,
    },
  );

/** The body did not arrive in time; the connection is closed, since the rest of it may still come. */
export const bodyTimeout = (timeoutMs: number): Problem =>
  new Problem(
    408,
    "body-timeout",
    "Request body timeout",
    `the body did not arrive within ${timeoutMs} ms`,
    undefined,
    {
      Connection: "close",
    },
  );

/** The client went away before its body arrived: nobody reads the answer. */
export const clientAborted = (): Problem =>
  new Problem(400, "client-aborted", "Client aborted", "the connection closed before the body arrived");

export const shuttingDown = (): Problem =>
  new Problem(503, "shutting-down", "Shutting down", "the service is draining", undefined, {
    "Retry-After": "1",
  });
