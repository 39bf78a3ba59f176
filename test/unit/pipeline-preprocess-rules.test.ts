/** preprocess's cell rules and its report, on small CSVs (real DuckDB, real Parquet files). */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DuckDBConnection, DuckDBInstance } from "@duckdb/node-api";
import { afterAll, describe, expect, it } from "vitest";
import { PreprocessReport } from "../../functions/common/contracts.ts";
import { configHash } from "../../functions/common/hash.ts";
import { loadPreprocessSettings } from "../../functions/preprocess/settings.ts";
import { transform } from "../../functions/preprocess/transform.ts";

const dir = mkdtempSync(join(tmpdir(), "flts-rules-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const config = (env: Record<string, string> = {}) => ({
  ...loadPreprocessSettings({ MIN_ROWS: "2", WINDOW: "1", HORIZON: "1", ...env }).base,
  split: { kind: "fraction" as const, test_fraction: 0.25 },
});

let n = 0;
async function run(lines: string[], env: Record<string, string> = {}, testLines: string[] | null = null) {
  const id = n++;
  const csvPath = join(dir, `in-${id}.csv`);
  writeFileSync(csvPath, lines.join("\n"));
  const testCsvPath = testLines ? join(dir, `in-${id}_test.csv`) : null;
  if (testCsvPath && testLines) writeFileSync(testCsvPath, testLines.join("\n"));
  const out = { trainOut: join(dir, `train-${id}.parquet`), testOut: join(dir, `test-${id}.parquet`) };
  const cfg = config(env);
  const go = () =>
    transform({
      csvPath,
      testCsvPath,
      csvName: "data.csv",
      testCsvName: testLines ? "data_test.csv" : null,
      config: testLines ? { ...cfg, split: { kind: "file", test_file: "data_test.csv" } } : cfg,
      ...out,
      kvMetadata: { config_hash: "h".repeat(64) },
    });
  return { go, ...out };
}

async function column(path: string, col: string): Promise<unknown[]> {
  const instance = await DuckDBInstance.create(":memory:");
  const conn = await DuckDBConnection.create(instance);
  try {
    return (await conn.runAndReadAll(`SELECT "${col}" FROM '${path}' ORDER BY time`))
      .getRowsJS()
      .map((r) => r[0]);
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

/** time,down,up,mcs_up with eight 2-minute rows; `cells` replaces row i's (1-based) cells. */
function table(cells: Record<number, string> = {}, header = "time,down,up,mcs_up"): string[] {
  const width = header.split(",").length - 1;
  const rows = Array.from({ length: 8 }, (_, i) => {
    const time = `2018-02-05 00:${String(i * 2).padStart(2, "0")}:00`;
    return cells[i + 1] !== undefined
      ? `${time},${cells[i + 1]}`
      : `${time},${Array.from({ length: width }, (_, j) => 10 * (i + 1) + j).join(",")}`;
  });
  return [header, ...rows];
}

describe("values beyond float32", () => {
  it("fails on a 1e308 cell in down, naming the column and the row, and writes no file", async () => {
    const { go, trainOut, testOut } = await run(table({ 3: "1e308,5,5" }));
    await expect(go()).rejects.toThrow(
      /data\.csv: column 'down' has 1e308 at row 3 \(line 4\), beyond the float32 range/,
    );
    expect(existsSync(trainOut) || existsSync(testOut)).toBe(false);
  });

  it.each([
    ["a number that overflows a double", "5,1e400,5", /column 'up' has 1e400 at row 2 \(line 3\)/],
    ["a negative one", "5,5,-3.5e38", /column 'mcs_up' has -3.5e38 at row 2/],
  ])("fails on %s", async (_name, cells, message) => {
    await expect((await run(table({ 2: cells }))).go()).rejects.toThrow(message);
  });

  it("accepts the largest float32 and names the _test companion when the value is there", async () => {
    const ok = await run(table({ 1: "3.4028234e38,1,1" }));
    await expect(ok.go()).resolves.toBeDefined();
    const test = ["time,down,up,mcs_up", "2018-02-05 00:20:00,1,1,1", "2018-02-05 00:22:00,1,1e39,1"];
    await expect((await run(table(), {}, test)).go()).rejects.toThrow(
      /data_test\.csv: column 'up' has 1e39 at row 2 \(line 3\)/,
    );
  });
});

describe("missing cells: counted per column and kind, handled by NAN_POLICY", () => {
  const lines = table({ 2: ",20,nan", 3: "NaN,30,inf", 4: "-inf,40,1" });

  it("ffill fills them and the report counts each kind", async () => {
    const { go, trainOut } = await run(lines);
    const { report } = await go();
    expect(PreprocessReport.parse(report)).toEqual(report);
    expect(report.missing_cells).toEqual({
      down: { empty: 1, nan: 1, inf: 1, filled: 3 },
      mcs_up: { empty: 0, nan: 1, inf: 1, filled: 2 },
    });
    expect(report).toMatchObject({ rows_read: 8, duplicates_dropped: 0, rows_dropped_missing: 0 });
    expect(await column(trainOut, "down")).toEqual([10, 10, 10, 10, 50, 60]);
  });

  it("drop drops the rows and fills nothing", async () => {
    const { report } = await (await run(lines, { NAN_POLICY: "drop" })).go();
    expect(report.rows_dropped_missing).toBe(3);
    expect(report.missing_cells.down).toEqual({ empty: 1, nan: 1, inf: 1, filled: 0 });
  });

  it("ffill drops the leading rows it has nothing to carry into, and says so", async () => {
    const { report } = await (await run(table({ 1: ",10,1" }))).go();
    expect(report.rows_dropped_missing).toBe(1);
    expect(report.missing_cells.down).toEqual({ empty: 1, nan: 0, inf: 0, filled: 0 });
  });

  it("a column without missing cells is not listed", async () => {
    const { report } = await (await run(table())).go();
    expect(report.missing_cells).toEqual({});
  });
});

describe("negative volumes (NEGATIVE_POLICY)", () => {
  it("rejects a negative down by default, naming column and row", async () => {
    await expect((await run(table({ 5: "-7,5,5" }))).go()).rejects.toThrow(
      /data\.csv: column 'down' has a negative value -7 at row 5 \(line 6\); a volume cannot be negative \(NEGATIVE_POLICY=reject/,
    );
  });

  it("clip sets it to 0 and counts it per column; a non-volume column may be negative", async () => {
    const { go, trainOut } = await run(table({ 1: "-7,-1,-2", 2: "20,-3,-4" }), { NEGATIVE_POLICY: "clip" });
    const { report } = await go();
    expect(report.negative_policy).toBe("clip");
    expect(report.negatives_clipped).toEqual({ down: 1, up: 2 });
    expect((await column(trainOut, "down"))[0]).toBe(0);
    expect((await column(trainOut, "mcs_up")).slice(0, 2)).toEqual([-2, -4]);
  });
});

describe("feature choice", () => {
  const header = "time,down,up,mcs_up,extra,label";
  const lines = table(
    Object.fromEntries(Array.from({ length: 8 }, (_, i) => [i + 1, `${i},${i},${i},${i * 100},x`])),
    header,
  );

  it("takes the reference columns present; an unknown numeric column is left out and reported", async () => {
    const { report, features } = await (await run(lines)).go();
    expect(features).toEqual(["down", "up", "mcs_up"]);
    expect(report).toMatchObject({
      feature_selection: "reference_columns",
      features: ["down", "up", "mcs_up"],
      features_left_out: ["extra", "label"],
    });
  });

  it("FEATURES selects explicitly (and still reports what is left out)", async () => {
    const { report } = await (await run(lines, { FEATURES: "down,up,extra" })).go();
    expect(report).toMatchObject({
      feature_selection: "FEATURES",
      features: ["down", "up", "extra"],
      features_left_out: ["mcs_up", "label"],
    });
  });
});

describe("settings and the config hash", () => {
  it.each([
    [{ NEGATIVE_POLICY: "abs" }, /NEGATIVE_POLICY must be one of reject, clip, got 'abs'/],
    [{ NAN_CONSTANT: "1e39" }, /NAN_CONSTANT must be <= 3.4028234663852886e\+38/],
    [{ NAN_POLICY: "constant", NAN_CONSTANT: "-1" }, /NAN_CONSTANT must be >= 0 with NAN_POLICY=constant/],
  ])("%j is refused", (env, message) => {
    expect(() => loadPreprocessSettings(env)).toThrow(message);
  });

  it("NEGATIVE_POLICY and the feature choice change the config hash", () => {
    const hash = (env: Record<string, string>) =>
      configHash({
        identifier: "X",
        settings: loadPreprocessSettings(env).base,
        raw: { sha256: "0", test_sha256: null },
        salt: "",
      });
    const plain = hash({});
    expect(hash({ NEGATIVE_POLICY: "reject" })).toBe(plain);
    expect(hash({ NEGATIVE_POLICY: "clip" })).not.toBe(plain);
    expect(hash({ FEATURES: "down,up" })).not.toBe(plain);
    expect(loadPreprocessSettings({}).base.reference_columns).toContain("rb_up_var");
  });
});
