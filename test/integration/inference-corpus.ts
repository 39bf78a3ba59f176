/** Malformed requests to the inference service, each with the answer it must get (never a 5xx). */
import { windowData } from "./inference-harness.ts";

export interface Case {
  name: string;
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  /** A string is sent as it is; anything else as JSON. */
  body?: unknown;
  status: number;
  field?: string;
  detail?: RegExp;
  allow?: string;
}

const good = () => windowData("gru", 0);
const seconds = () => (good().ts as string[]).map((s) => Date.parse(s) / 1000);

/** The GRU fixture's first window with `ts` replaced. */
const withTs = (ts: unknown[]) => ({ data: { ...good(), ts } });

/** The GRU fixture's first window with one value of `column` replaced. */
function withValue(column: string, value: unknown) {
  const data = good();
  (data[column] as unknown[])[3] = value;
  return { data };
}

const ts = (name: string, body: unknown, detail?: RegExp): Case => ({
  name,
  body,
  status: 400,
  field: "data.ts",
  ...(detail ? { detail } : {}),
});

const identifier = (name: string, value: unknown): Case => ({
  name: `identifier ${name}`,
  body: { data: good(), identifier: value },
  status: 400,
  field: "identifier",
});

export function malformedCorpus(bodyLimit: number): Case[] {
  const s = seconds();
  return [
    { name: "truncated JSON", body: '{"data": {"ts": [1, 2', status: 400, field: "(body)" },
    { name: "not JSON at all", body: "data=1&ts=2", status: 400, field: "(body)" },
    { name: "empty body", body: "", status: 400, field: "(body)" },
    { name: "JSON null", body: "null", status: 400, field: "(body)" },
    { name: "JSON array", body: "[1,2,3]", status: 400, field: "(body)" },
    { name: "data a string", body: { data: "x" }, status: 400, field: "data" },
    { name: "data an array", body: { data: [1, 2] }, status: 400, field: "data" },
    ts("ts a string", { data: { ...good(), ts: "2018-02-11" } }),
    ts("ts of booleans", withTs(s.map(() => true))),
    ts("ts of objects", withTs(s.map((v) => ({ v })))),
    ts("ts as 'NaN' strings", withTs(s.map(() => "NaN"))),
    ts("ts of 1e300", withTs(s.map((_, i) => 1e300 * (1 + i / 10))), /outside the accepted range/),
    ts("ts in Unix milliseconds", withTs(s.map((v) => v * 1e3)), /Unix milliseconds/),
    ts("ts in Unix microseconds", withTs(s.map((v) => v * 1e6)), /Unix microseconds/),
    ts("ts in Unix nanoseconds", withTs(s.map((v) => v * 1e9)), /Unix nanoseconds/),
    ts("ts before 1970", withTs(s.map((v) => v - 1.6e9)), /outside the accepted range/),
    ts(
      "ts in year 9999",
      withTs(s.map((_, i) => `9999-12-31T23:${String(40 + i).padStart(2, "0")}:00Z`)),
      /outside the accepted range/,
    ),
    ts("ts decreasing", withTs([...s].reverse()), /increase/),
    ts("too few rows", {
      data: Object.fromEntries(Object.entries(good()).map(([k, v]) => [k, (v as unknown[]).slice(0, 3)])),
    }),
    { name: "feature 'NaN' string", body: withValue("down", "NaN"), status: 400, field: "data.down" },
    { name: "feature 'Infinity' string", body: withValue("up", "Infinity"), status: 400, field: "data.up" },
    { name: "feature null", body: withValue("rnti_count", null), status: 400, field: "data.rnti_count" },
    { name: "feature 1e39", body: withValue("down", 1e39), status: 400, field: "data.down" },
    { name: "feature 1e308", body: withValue("down", 1e308), status: 400, field: "data.down" },
    { name: "negative traffic volume", body: withValue("down", -5), status: 400, field: "data.down" },
    { name: "negative users seen", body: withValue("rnti_count", -1), status: 400, field: "data.rnti_count" },
    {
      name: "feature missing",
      body: { data: { ...good(), mcs_up: undefined } },
      status: 400,
      field: "data.mcs_up",
    },
    { name: "horizon 1e300", body: { data: good(), horizon: 1e300 }, status: 400, field: "horizon" },
    { name: "horizon -1", body: { data: good(), horizon: -1 }, status: 400, field: "horizon" },
    { name: "horizon a string", body: { data: good(), horizon: "1" }, status: 400, field: "horizon" },
    {
      name: "quantiles a string",
      body: { data: good(), quantiles: "true" },
      status: 400,
      field: "quantiles",
    },
    {
      name: "quantiles from a model without q",
      body: { data: good(), quantiles: true },
      status: 400,
      field: "quantiles",
    },
    identifier("../x", "../x"),
    identifier("empty", ""),
    identifier("with a slash", "a/b"),
    identifier("a number", 7),
    identifier("200 characters", "x".repeat(200)),
    identifier("percent-encoded", "%2e%2e"),
    identifier("unknown", `nobody-${Date.now()}`),
    {
      name: "x-request-id with a space",
      headers: { "x-request-id": "a b" },
      body: { data: good() },
      status: 400,
      field: "x-request-id",
    },
    {
      name: "batch: a window in microseconds",
      path: "/predict/batch",
      body: { windows: [good(), { ...good(), ts: s.map((v) => v * 1e6) }] },
      status: 400,
      field: "windows[1].ts",
    },
    {
      name: "batch: too many windows",
      path: "/predict/batch",
      body: { windows: Array(5).fill(good()) },
      status: 400,
      field: "windows",
    },
    {
      name: "batch: windows an object",
      path: "/predict/batch",
      body: { windows: {} },
      status: 400,
      field: "windows",
    },
    {
      name: "/models/current?identifier=../x",
      method: "GET",
      path: "/models/current?identifier=../x",
      status: 400,
      field: "identifier",
    },
    {
      name: "/models/current, unknown identifier",
      method: "GET",
      path: `/models/current?identifier=nobody-${Date.now()}`,
      status: 400,
      field: "identifier",
    },
    { name: "GET /predict", method: "GET", path: "/predict", status: 405, allow: "POST" },
    { name: "HEAD /predict", method: "HEAD", path: "/predict", status: 405, allow: "POST" },
    {
      name: "PUT /predict/batch",
      method: "PUT",
      path: "/predict/batch",
      body: "{}",
      status: 405,
      allow: "POST",
    },
    { name: "POST /healthz", method: "POST", path: "/healthz", body: "{}", status: 405, allow: "GET, HEAD" },
    {
      name: "DELETE /models/current",
      method: "DELETE",
      path: "/models/current",
      status: 405,
      allow: "GET, HEAD",
    },
    { name: "unknown route", method: "GET", path: "/predict/../../etc/passwd", status: 404 },
    { name: "body over the limit", body: { data: good(), padding: "x".repeat(bodyLimit) }, status: 413 },
  ];
}
