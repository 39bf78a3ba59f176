/** The model-operations tables: a header row over the rows (local/table.ts pads the columns). */
import { table as textTable } from "../table.ts";

export function table(headers: string[], rows: string[][]): string {
  return textTable([headers, ...rows]);
}

export const num = (v: number | null | undefined): string =>
  v === null || v === undefined ? "-" : v.toPrecision(5);
