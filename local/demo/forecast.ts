/** The demo's forecast: the last `window` rows of the held-out CSV as a POST /predict body. */
import { readFileSync } from "node:fs";

export type PredictBody = { identifier: string; data: Record<string, (string | number)[]> };

/** The reference CSV's `time` column (UTC, "YYYY-MM-DD HH:MM:SS") becomes `ts` in ISO form. */
export function lastRowsAsPredictBody(csvPath: string, rows: number, identifier: string): PredictBody {
  const lines = readFileSync(csvPath, "utf8").trim().split("\n");
  const header = (lines[0] ?? "").split(",").map((name) => (name === "time" ? "ts" : name));
  const data: Record<string, (string | number)[]> = Object.fromEntries(header.map((name) => [name, []]));
  for (const line of lines.slice(1).slice(-rows)) {
    line.split(",").forEach((cell, i) => {
      const name = header[i] ?? "";
      data[name]?.push(name === "ts" ? `${cell.replace(" ", "T")}Z` : Number(cell));
    });
  }
  return { identifier, data };
}
