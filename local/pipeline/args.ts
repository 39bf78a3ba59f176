/** Argument checks shared by the local CLIs that take a data file (`npm run pipeline`, `npm run score`). */
import { existsSync } from "node:fs";
import { IdentifierField } from "../../functions/common/contracts.ts";

/** A bad argument: the message names it. */
export class UsageError extends Error {}

/** `--<flag>`: a CSV file that exists. */
export function csvFileArg(flag: string, path: string | undefined, usage: string): string {
  if (!path) throw new UsageError(`--${flag} is required\n${usage}`);
  if (!existsSync(path)) throw new UsageError(`--${flag}: file '${path}' does not exist`);
  if (!path.toLowerCase().endsWith(".csv")) throw new UsageError(`--${flag}: '${path}' is not a .csv file`);
  return path;
}

export function identifierArg(identifier: string): string {
  if (!IdentifierField.safeParse(identifier).success)
    throw new UsageError(`--identifier: '${identifier}' must use letters, digits, '.', '_' and '-' only`);
  return identifier;
}

/** `--timeout`: seconds > 0, `fallback` when not given. */
export function timeoutArg(raw: string | undefined, fallback: number): number {
  const timeout = raw === undefined ? fallback : Number(raw);
  if (!Number.isFinite(timeout) || timeout <= 0)
    throw new UsageError(`--timeout must be a number of seconds > 0, got '${raw}'`);
  return timeout;
}
