/** Request bodies for the benches: consecutive windows of a reference CSV, values as written there. */
import { readFileSync } from "node:fs";

/** `count` consecutive windows of `csvPath` (2-minute rows): realistic `/predict` data, all distinct. */
export function csvWindows(
  csvPath: string,
  features: readonly string[],
  window: number,
  count: number,
): Record<string, unknown>[] {
  const [header, ...lines] = readFileSync(csvPath, "utf8").trim().split("\n");
  const columns = (header as string).split(",");
  const rows = lines.slice(0, count + window - 1).map((line) => line.split(","));
  if (rows.length < count + window - 1) throw new Error(`${csvPath} has too few rows`);
  const index = (name: string) => {
    const at = columns.indexOf(name);
    if (at < 0) throw new Error(`${csvPath} has no column ${name}`);
    return at;
  };
  const time = index("time");
  return Array.from({ length: count }, (_, i) => {
    const slice = rows.slice(i, i + window);
    const data: Record<string, unknown> = { ts: slice.map((row) => row[time]) };
    for (const name of features) {
      const at = index(name);
      data[name] = slice.map((row) => Number(row[at]));
    }
    return data;
  });
}

/** The windows as `/predict/batch` bodies of `perRequest` windows each. */
export function batchBodies(windows: Record<string, unknown>[], perRequest: number): string[] {
  return Array.from({ length: Math.ceil(windows.length / perRequest) }, (_, b) =>
    JSON.stringify({ windows: windows.slice(b * perRequest, (b + 1) * perRequest) }),
  );
}
