/**
 * The NaN policy over the de-duplicated timeline (table `dedup` → `filled`), and the count of what it
 * and the negative-value policy did per column. `dedup` holds time, __part, __rn, each feature's value
 * and its cell kind `__k<i>` (see cells.ts).
 */
import type { DuckDBConnection } from "@duckdb/node-api";
import type { PreprocessConfig, PreprocessReport } from "../common/contracts.ts";
import { KIND, kindColumn } from "./cells.ts";
import { ident, rows, scalar } from "./duck.ts";

export interface FillOutcome {
  missing_cells: PreprocessReport["missing_cells"];
  negatives_clipped: PreprocessReport["negatives_clipped"];
  rows_dropped_missing: number;
}

const MISSING = `(${KIND.empty}, ${KIND.nan}, ${KIND.inf})`;

export async function applyNanPolicy(
  conn: DuckDBConnection,
  columns: string[],
  config: PreprocessConfig,
): Promise<FillOutcome> {
  const cols = columns.map(ident);
  const kinds = columns.map((_, i) => kindColumn(i));
  const keep = ["time", "__part", "__rn", ...kinds].join(", ");
  const anyNull = cols.map((c) => `${c} IS NULL`).join(" OR ");
  if (config.nan_policy === "drop") {
    await conn.run(`CREATE TABLE filled AS SELECT * FROM dedup WHERE NOT (${anyNull})`);
  } else if (config.nan_policy === "constant") {
    const sel = cols.map((c) => `coalesce(${c}, ${config.nan_constant}) AS ${c}`).join(", ");
    await conn.run(`CREATE TABLE filled AS SELECT ${keep}, ${sel} FROM dedup`);
  } else {
    // Over the whole timeline: a forward fill may carry the last train value into test.
    const sel = cols.map((c) => `last_value(${c} IGNORE NULLS) OVER w AS ${c}`).join(", ");
    await conn.run(
      `CREATE TABLE ffilled AS SELECT ${keep}, ${sel} FROM dedup WINDOW w AS (ORDER BY time ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)`,
    );
    // Leading rows with nothing before them to carry forward are dropped.
    await conn.run(`CREATE TABLE filled AS SELECT * FROM ffilled WHERE NOT (${anyNull})`);
  }
  const sums = (table: string, terms: (k: string) => string[]) =>
    rows(conn, `SELECT ${kinds.flatMap(terms).join(", ")} FROM ${table}`).then((r) =>
      (r[0] ?? []).map(Number),
    );
  const before = await sums("dedup", (k) => [
    `count_if(${k} = ${KIND.empty})`,
    `count_if(${k} = ${KIND.nan})`,
    `count_if(${k} = ${KIND.inf})`,
    `count_if(${k} = ${KIND.negative})`,
  ]);
  const filled = await sums("filled", (k) => [`count_if(${k} IN ${MISSING})`]);
  const outcome: FillOutcome = {
    missing_cells: {},
    negatives_clipped: {},
    rows_dropped_missing:
      Number(await scalar(conn, "SELECT count(*) FROM dedup")) -
      Number(await scalar(conn, "SELECT count(*) FROM filled")),
  };
  columns.forEach((col, i) => {
    const [empty = 0, nan = 0, inf = 0, negative = 0] = before.slice(4 * i, 4 * i + 4);
    if (empty + nan + inf > 0) outcome.missing_cells[col] = { empty, nan, inf, filled: filled[i] ?? 0 };
    if (negative > 0) outcome.negatives_clipped[col] = negative;
  });
  return outcome;
}
