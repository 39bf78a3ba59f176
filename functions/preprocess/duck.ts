/** Small DuckDB helpers: SQL quoting and reading results as plain JS values. */
import type { DuckDBConnection } from "@duckdb/node-api";

export const lit = (s: string): string => `'${s.replace(/'/g, "''")}'`;
export const ident = (s: string): string => `"${s.replace(/"/g, '""')}"`;

export async function rows(conn: DuckDBConnection, sql: string): Promise<unknown[][]> {
  return (await conn.runAndReadAll(sql)).getRowsJS();
}

export async function scalar(conn: DuckDBConnection, sql: string): Promise<unknown> {
  return (await rows(conn, sql))[0]?.[0];
}

export function firstLine(error: unknown): string {
  return String((error as Error)?.message ?? error).split("\n")[0] ?? "";
}
