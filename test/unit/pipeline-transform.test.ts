/** preprocess's DuckDB transform on small CSVs (real DuckDB, real Parquet files). */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DuckDBConnection, DuckDBInstance } from "@duckdb/node-api";
import { afterAll, describe, expect, it } from "vitest";
import type { PreprocessConfig } from "../../functions/common/contracts.ts";
import { REFERENCE_COLUMNS, VOLUME_COLUMNS } from "../../functions/preprocess/columns.ts";
import { transform } from "../../functions/preprocess/transform.ts";

const dir = mkdtempSync(join(tmpdir(), "flts-transform-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const config = (over: Partial<PreprocessConfig> = {}): PreprocessConfig => ({
  time_column: "time",
  features: null,
  targets: ["down", "up"],
  nan_policy: "ffill",
  nan_constant: 0,
  negative_policy: "reject",
  volume_columns: [...VOLUME_COLUMNS],
  reference_columns: [...REFERENCE_COLUMNS],
  clip: null,
  split: { kind: "fraction", test_fraction: 0.25 },
  min_rows: 2,
  window: 1,
  horizon: 1,
  step_seconds: 120,
  gap_tolerance_seconds: 360,
  ...over,
});

let n = 0;
function csv(text: string): string {
  const path = join(dir, `in-${n++}.csv`);
  writeFileSync(path, text);
  return path;
}

async function run(text: string, cfg = config(), test: string | null = null) {
  const out = { trainOut: join(dir, `train-${n}.parquet`), testOut: join(dir, `test-${n}.parquet`) };
  const result = await transform({
    csvPath: csv(text),
    testCsvPath: test ? csv(test) : null,
    csvName: "data.csv",
    testCsvName: test ? "data_test.csv" : null,
    config: cfg,
    ...out,
    kvMetadata: { config_hash: "h".repeat(64), config: JSON.stringify(cfg) },
  });
  return { result, ...out };
}

async function query(sql: string): Promise<unknown[][]> {
  const instance = await DuckDBInstance.create(":memory:");
  const conn = await DuckDBConnection.create(instance);
  try {
    return (await conn.runAndReadAll(sql)).getRowsJS();
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

const rows8 = [
  "time,down,up,label",
  "2018-02-05 00:06:00,4,40,d",
  "2018-02-05 00:00:00,1,10,a",
  "2018-02-05 00:02:00,,20,b",
  "2018-02-05 00:02:00,99,99,dup",
  "2018-02-05 00:04:00,3,30,c",
  "2018-02-05 00:08:00,5,50,e",
  "2018-02-05 00:10:00,6,60,f",
  "2018-02-05 00:12:00,7,70,g",
  "2018-02-05 00:14:00,8,80,h",
].join("\n");

describe("preprocess transform", () => {
  it("sorts, drops duplicate timestamps (first wins), forward-fills and splits in time order", async () => {
    const { result, trainOut, testOut } = await run(rows8);
    expect(result.rows).toEqual({ input: 9, duplicates_dropped: 1, nan_rows_dropped: 0 });
    expect(result.features).toEqual(["down", "up"]); // the text column is not a feature
    expect(result.train).toMatchObject({
      rows: 6,
      start: "2018-02-05T00:00:00Z",
      end: "2018-02-05T00:10:00Z",
    });
    expect(result.test).toMatchObject({ rows: 2, start: "2018-02-05T00:12:00Z" });
    const train = await query(`SELECT CAST(time AS VARCHAR), down, up FROM '${trainOut}' ORDER BY time`);
    expect(train.map((r) => r[1])).toEqual([1, 1, 3, 4, 5, 6]); // 00:02 down was empty → carried forward
    const types = await query(`SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM '${testOut}')`);
    expect(types).toEqual([
      ["time", "TIMESTAMP"],
      ["down", "DOUBLE"],
      ["up", "DOUBLE"],
    ]);
  });

  it("writes config_hash and config into the Parquet key-value metadata", async () => {
    const { trainOut } = await run(rows8);
    const kv = await query(`SELECT decode(key), decode(value) FROM parquet_kv_metadata('${trainOut}')`);
    const map = Object.fromEntries(kv as [string, string][]);
    expect(map.config_hash).toBe("h".repeat(64));
    expect(JSON.parse(map.config as string).nan_policy).toBe("ffill");
  });

  it("drops rows with missing values under NAN_POLICY=drop and fills a constant under =constant", async () => {
    const dropped = await run(rows8, config({ nan_policy: "drop" }));
    expect(dropped.result.rows.nan_rows_dropped).toBe(1);
    const constant = await run(rows8, config({ nan_policy: "constant", nan_constant: 42 }));
    const train = await query(`SELECT down FROM '${constant.trainOut}' ORDER BY time`);
    expect(train.map((r) => r[0])).toContain(42);
  });

  it("clips with percentiles fitted on the train split only", async () => {
    const text = [
      "time,down,up",
      ...Array.from(
        { length: 10 },
        (_, i) => `2018-02-05 00:${String(i * 2).padStart(2, "0")}:00,${i < 8 ? i : 1000},${i}`,
      ),
    ].join("\n");
    const { result, testOut } = await run(
      text,
      config({ clip: { lower_pct: 0, upper_pct: 1 }, split: { kind: "fraction", test_fraction: 0.2 } }),
    );
    expect(result.clipBounds?.down).toEqual({ lower: 0, upper: 7 }); // train is rows 0..7; the 1000s are test
    const test = await query(`SELECT down FROM '${testOut}'`);
    expect(test.map((r) => r[0])).toEqual([7, 7]);
  });

  it("uses a _test companion as the test split", async () => {
    const test = ["time,down,up", "2018-02-05 00:16:00,9,90", "2018-02-05 00:18:00,10,100"].join("\n");
    const { result } = await run(
      rows8,
      config({ split: { kind: "file", test_file: "data_test.csv" } }),
      test,
    );
    expect(result.train.rows).toBe(8);
    expect(result.test).toMatchObject({
      rows: 2,
      start: "2018-02-05T00:16:00Z",
      end: "2018-02-05T00:18:00Z",
    });
  });

  it.each([
    [
      "a missing target column",
      rows8.replaceAll(",down,", ",dn,"),
      /column 'down' is missing \(required target/,
    ],
    ["a missing time column", rows8.replace("time,", "ts,"), /column 'time' is missing/],
    [
      "an unparsable timestamp",
      rows8.replace("2018-02-05 00:04:00", "yesterday"),
      /column 'time' has an unparsable timestamp 'yesterday' at row 5/,
    ],
    [
      "a non-numeric value",
      rows8.replace(",30,c", ",thirty,c"),
      /column 'up' has a non-numeric value 'thirty'/,
    ],
    ["too few rows", "time,down,up\n2018-02-05 00:00:00,1,2\n2018-02-05 00:02:00,1,2", /too few rows/],
  ])("fails on %s with a message naming it", async (_name, text, message) => {
    await expect(run(text, config({ min_rows: 4 }))).rejects.toThrow(message);
  });

  it("refuses a test companion that overlaps the training data", async () => {
    const test = ["time,down,up", "2018-02-05 00:04:00,9,90", "2018-02-05 00:20:00,1,1"].join("\n");
    await expect(run(rows8, config({ split: { kind: "file", test_file: "x" } }), test)).rejects.toThrow(
      /overlaps the training data/,
    );
  });
});
