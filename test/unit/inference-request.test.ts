/** Request validation and timestamps: the hot-path checks name the field at fault. */
import { describe, expect, it } from "vitest";
import { Problem } from "../../functions/inference/problem.ts";
import {
  parseBatchBody,
  parseIdentifier,
  parsePredictBody,
  parseRequestId,
  readWindow,
  requireQuantiles,
  resolveHorizon,
} from "../../functions/inference/request.ts";
import { timeBounds, toIsoUtc, toUnixSeconds, YEAR_10000 } from "../../functions/inference/timestamps.ts";

const shape = { features: ["down", "up", "rnti"], window: 3, bounds: timeBounds(Number.NaN, 0, 0) };

function data(rows = 4): Record<string, unknown> {
  return {
    ts: Array.from({ length: rows }, (_, i) => `2024-03-01T00:0${2 * i}:00Z`),
    down: Array.from({ length: rows }, (_, i) => 100 + i),
    up: Array.from({ length: rows }, (_, i) => 10 + i),
    rnti: Array.from({ length: rows }, (_, i) => i),
    ignored: "extra keys are not model inputs",
  };
}

function fieldOf(action: () => unknown): string | undefined {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(Problem);
    expect((error as Problem).status).toBe(400);
    return (error as Problem).field;
  }
  throw new Error("expected a Problem");
}

describe("readWindow", () => {
  it("writes the LAST window rows, features in card order, and returns the last timestamp", () => {
    const out = new Float32Array(2 + 9).fill(-1);
    const last = readWindow(data(), shape, "data", out, 2);
    expect(Array.from(out)).toEqual([-1, -1, 101, 11, 1, 102, 12, 2, 103, 13, 3]);
    expect(last).toBe(Date.UTC(2024, 2, 1, 0, 6) / 1000);
  });

  const cases: [string, (d: Record<string, unknown>) => void, string][] = [
    ["missing ts", (d) => delete d.ts, "data.ts"],
    ["ts not an array", (d) => (d.ts = "2024-03-01"), "data.ts"],
    ["too few rows", (d) => (d.ts = (d.ts as string[]).slice(0, 2)), "data.ts"],
    ["bad timestamp", (d) => ((d.ts as unknown[])[1] = "noon"), "data.ts"],
    ["decreasing timestamps", (d) => (d.ts as unknown[]).reverse(), "data.ts"],
    ["missing feature", (d) => delete d.up, "data.up"],
    ["unequal length", (d) => (d.rnti as unknown[]).pop(), "data.rnti"],
    ["string number", (d) => ((d.down as unknown[])[0] = "5"), "data.down"],
    ["null (NaN)", (d) => ((d.up as unknown[])[3] = null), "data.up"],
    ["beyond float32", (d) => ((d.down as unknown[])[3] = 1e39), "data.down"],
    ["boolean", (d) => ((d.rnti as unknown[])[2] = true), "data.rnti"],
  ];
  for (const [name, mutate, field] of cases) {
    it(`${name} → 400 naming ${field}`, () => {
      const d = data();
      mutate(d);
      expect(fieldOf(() => readWindow(d, shape, "data", new Float32Array(9), 0))).toBe(field);
    });
  }

  it("refuses timestamps outside 1970..9999 and names Unix milliseconds and microseconds", () => {
    const seconds = (data().ts as string[]).map((s) => Date.parse(s) / 1000);
    const detailOf = (ts: unknown[], bounds = shape.bounds) => {
      try {
        readWindow({ ...data(), ts }, { ...shape, bounds }, "data", new Float32Array(9), 0);
      } catch (error) {
        expect((error as Problem).field).toBe("data.ts");
        return (error as Problem).detail;
      }
      throw new Error("expected a Problem");
    };
    expect(detailOf(seconds.map((s) => s * 1e3))).toMatch(/index 0: \d+ looks like Unix milliseconds/);
    expect(detailOf(seconds.map((s) => s * 1e6))).toMatch(/looks like Unix microseconds/);
    expect(detailOf(seconds.map((s) => s * 1e9))).toMatch(/looks like Unix nanoseconds/);
    expect(detailOf([1e300, 1e300 + 1e290, 1e300 + 2e290, 1e300 + 3e290])).toMatch(
      /outside the accepted range 1970-01-01T00:00:00Z to 9999-12-31T23:59:59Z/,
    );
    expect(detailOf([-120, -60, 0, 60])).toMatch(/index 0: -120 is outside/);
    expect(detailOf(["1969-12-31T23:56:00Z", ...seconds.slice(1)])).toMatch(
      /"1969-12-31T23:56:00Z" is outside/,
    );
    // A model's bounds: within a distance of its reference, and room for its forecasts before 10000.
    const near = timeBounds(seconds[0] as number, 1, 0);
    expect(
      detailOf(
        seconds.map((s) => s + 2 * 86_400),
        near,
      ),
    ).toMatch(/outside the accepted range/);
    expect(readWindow(data(), { ...shape, bounds: near }, "data", new Float32Array(9), 0)).toBe(seconds[3]);
    const lastAllowed = YEAR_10000 - 1 - 3 * 120;
    expect(timeBounds(Number.NaN, 0, 3 * 120).latest).toBe(lastAllowed);
    expect(toIsoUtc(lastAllowed + 3 * 120)).toBe("9999-12-31T23:59:59Z");
  });

  it("prefixes the field with the window's position in the batch form", () => {
    const d = data();
    delete d.down;
    expect(fieldOf(() => readWindow(d, shape, "windows[3]", new Float32Array(9), 0))).toBe("windows[3].down");
  });
});

describe("request envelopes", () => {
  it("accepts a well-formed predict body and rejects each bad envelope field", () => {
    expect(parsePredictBody({ data: {}, identifier: "PobleSec", horizon: 1 })).toMatchObject({
      identifier: "PobleSec",
      horizon: 1,
    });
    expect(fieldOf(() => parsePredictBody([]))).toBe("(body)");
    expect(fieldOf(() => parsePredictBody({ data: [] }))).toBe("data");
    expect(fieldOf(() => parsePredictBody({ data: {}, identifier: 7 }))).toBe("identifier");
    expect(fieldOf(() => parsePredictBody({ data: {}, identifier: "a/b" }))).toBe("identifier");
    expect(fieldOf(() => parsePredictBody({ data: {}, horizon: -1 }))).toBe("horizon");
    expect(fieldOf(() => parsePredictBody({ data: {}, horizon: "2" }))).toBe("horizon");
  });

  it("refuses a malformed identifier or request id wherever it comes from", () => {
    expect(parseIdentifier(undefined)).toBeUndefined();
    expect(parseIdentifier("PobleSec.v2_a-b")).toBe("PobleSec.v2_a-b");
    for (const bad of ["../x", "", ".hidden", "a b", "x".repeat(129), "é", 5]) {
      expect(fieldOf(() => parseIdentifier(bad))).toBe("identifier");
    }
    expect(parseRequestId("req-1/2:3")).toBe("req-1/2:3");
    for (const bad of ["", "a b", "x".repeat(129), "ü"]) {
      expect(fieldOf(() => parseRequestId(bad))).toBe("x-request-id");
    }
  });

  it("bounds the batch form", () => {
    expect(parseBatchBody({ windows: [{}, {}] }, 2).windows).toHaveLength(2);
    expect(fieldOf(() => parseBatchBody({ windows: [{}, {}, {}] }, 2))).toBe("windows");
    expect(fieldOf(() => parseBatchBody({ windows: {} }, 2))).toBe("windows");
    expect(fieldOf(() => parseBatchBody({ windows: [{}, 5] }, 2))).toBe("windows[1]");
  });

  it("reads quantiles as a boolean (default false) and refuses anything else naming quantiles", () => {
    expect(parsePredictBody({ data: {} }).quantiles).toBe(false);
    expect(parsePredictBody({ data: {}, quantiles: true }).quantiles).toBe(true);
    expect(parsePredictBody({ data: {}, quantiles: false }).quantiles).toBe(false);
    expect(parseBatchBody({ windows: [{}], quantiles: true }, 2).quantiles).toBe(true);
    for (const bad of ["true", 1, 0, null, [], {}, [0.1, 0.9]]) {
      expect(fieldOf(() => parsePredictBody({ data: {}, quantiles: bad }))).toBe("quantiles");
      expect(fieldOf(() => parseBatchBody({ windows: [{}], quantiles: bad }, 2))).toBe("quantiles");
    }
  });

  it("refuses quantiles for a model without them, saying why", () => {
    expect(() => requireQuantiles(true, [0.1, 0.5, 0.9], "run-q")).not.toThrow();
    expect(() => requireQuantiles(false, [], "run-y")).not.toThrow();
    expect(fieldOf(() => requireQuantiles(true, [], "run-y"))).toBe("quantiles");
    expect(() => requireQuantiles(true, [], "run-y")).toThrow(/run-y has no quantile output/);
  });

  it("caps the horizon at the model's", () => {
    expect(resolveHorizon(undefined, 3)).toBe(3);
    expect(resolveHorizon(2, 3)).toBe(2);
    expect(fieldOf(() => resolveHorizon(4, 3))).toBe("horizon");
  });
});

describe("timestamps", () => {
  const noon = Date.UTC(2018, 1, 11, 12, 0, 0) / 1000;
  it.each([
    ["2018-02-11T12:00:00Z", noon],
    ["2018-02-11T12:00:00", noon],
    ["2018-02-11 12:00:00", noon],
    ["2018-02-11T12:00:00.250Z", noon + 0.25],
    ["2018-02-11T13:00:00+01:00", noon],
    ["2018-02-11", noon - 12 * 3600],
    [noon, noon],
  ])("%s → Unix seconds, UTC when no zone is given", (input, expected) => {
    expect(toUnixSeconds(input)).toBe(expected);
  });

  it.each([
    ["tomorrow"],
    ["2018-13-01T00:00:00Z"],
    ["2018-02-11T25:00:00"],
    [Number.POSITIVE_INFINITY],
    [null],
    [{}],
  ])("%s is not a timestamp", (input) => {
    expect(toUnixSeconds(input)).toBeNaN();
  });

  it("formats forecasts as ISO UTC to the second", () => {
    expect(toIsoUtc(noon)).toBe("2018-02-11T12:00:00Z");
    expect(toIsoUtc(noon + 0.5)).toBe("2018-02-11T12:00:00.500Z");
  });
});

describe("calendar checks of the fast timestamp path", () => {
  it.each([
    ["2024-02-29T00:00:00Z", Date.UTC(2024, 1, 29) / 1000],
    ["2000-02-29T00:00:00Z", Date.UTC(2000, 1, 29) / 1000],
    ["2024-04-30T23:59:59Z", Date.UTC(2024, 3, 30, 23, 59, 59) / 1000],
  ])("%s is a real day", (input, expected) => {
    expect(toUnixSeconds(input)).toBe(expected);
  });

  it.each([["2023-02-29T00:00:00Z"], ["1900-02-29T00:00:00Z"], ["2024-04-31T00:00:00Z"]])(
    "%s does not exist and is not rolled over",
    (input) => {
      expect(toUnixSeconds(input)).toBeNaN();
    },
  );
});
