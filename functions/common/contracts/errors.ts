/** Contract violations and the other errors retrying cannot fix. */
import type { z } from "zod";

/** Formats a zod error as `field: problem; field: problem`, naming each offending path. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => `${issue.path.length ? issue.path.join(".") : "(root)"}: ${issue.message}`)
    .join("; ");
}

export class ContractError extends Error {
  /** Retrying cannot fix a message that breaks its contract. */
  readonly permanent = true;
  constructor(
    readonly contract: string,
    readonly details: string,
  ) {
    super(`invalid ${contract}: ${details}`);
  }
}

/** Parses `value` against `schema`, throwing a ContractError that names each bad field. */
export function parseContract<S extends z.ZodType>(schema: S, contract: string, value: unknown): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw new ContractError(contract, describeIssues(result.error));
  return result.data;
}

/** An error that retrying cannot fix (bad input): the runtime sends the message to the DLQ at once. */
export class PermanentError extends Error {
  readonly permanent = true;
}

export function isPermanent(error: unknown): boolean {
  return typeof error === "object" && error !== null && (error as { permanent?: unknown }).permanent === true;
}
