// @ts-check
/**
 * The inference-log thread: turns packed records into JSONL and writes them to S3, so neither the
 * JSON formatting nor the S3 client runs on the HTTP thread. Plain JavaScript so it loads the same
 * way under tsx, vitest and the bundled container. Layout of a packed record: see inference-log.ts.
 */

import { parentPort, workerData } from "node:worker_threads";
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { toIsoUtc, YEAR_10000 } from "./iso-utc.mjs";

const port = /** @type {import("node:worker_threads").MessagePort} */ (parentPort);
const storage = workerData.storage;
const s3 = new S3Client({
  region: storage.region,
  forcePathStyle: storage.forcePathStyle,
  ...(storage.endpoint ? { endpoint: storage.endpoint } : {}),
});

/** @param {number} seconds */
function checkRange(seconds) {
  if (!(seconds >= 0 && seconds < YEAR_10000))
    throw new RangeError(`instant ${seconds} s is outside 1970..9999`);
}

/** ISO 8601 in UTC, to the second unless the instant has a fraction. @param {number} seconds */
function iso(seconds) {
  checkRange(seconds);
  return toIsoUtc(seconds);
}

let cachedSecond = Number.NaN;
let cachedSecondPrefix = "";

/** `new Date(ms).toISOString()`, the text up to the second cached (records come in time order). @param {number} ms */
function isoMillis(ms) {
  checkRange(ms / 1000);
  if (!(Number.isInteger(ms) && ms >= 0 && ms < YEAR_10000 * 1000)) return new Date(ms).toISOString();
  const second = Math.floor(ms / 1000);
  if (second !== cachedSecond) {
    cachedSecondPrefix = new Date(second * 1000).toISOString().slice(0, 20);
    cachedSecond = second;
  }
  const millis = ms - second * 1000;
  return `${cachedSecondPrefix}${millis < 10 ? "00" : millis < 100 ? "0" : ""}${millis}Z`;
}

/** A number as JSON.stringify writes it (non-finite values are null). @param {number} value */
const num = (value) => (Number.isFinite(value) ? String(value) : "null");

/**
 * The JSONL of one packed batch (layout: see inference-log.ts). Lines are built as strings, in the
 * key order of `{at, request_id, identifier, run_id, model_type, route, input: {rows, last_ts, last},
 * predictions: [{ts, <target>...}], latency_ms, cached}`. A record that cannot be written (an
 * instant outside 1970..9999) is left out and counted in `invalid`; the others are written.
 * @param {{ identifier: string, records: number, ids: string[], runs: { run_id: string, model_type: string, features: string[], targets: string[] }[], routes: string[], numbers: Float64Array, length: number }} batch
 */
function toJsonl(batch) {
  const { identifier, ids, numbers, length } = batch;
  const id = JSON.stringify(identifier);
  // Per run: the constant part of its lines and the JSON keys of its features and targets.
  const runs = batch.runs.map((run) => ({
    head: `"run_id":${JSON.stringify(run.run_id)},"model_type":${JSON.stringify(run.model_type)},"route":`,
    features: run.features.map((name, f) => `${f === 0 ? "" : ","}${JSON.stringify(name)}:`),
    targets: run.targets.map((name) => `,${JSON.stringify(name)}:`),
  }));
  const routes = batch.routes.map((route) => JSON.stringify(route));
  let body = "";
  let count = 0;
  let invalid = 0;
  /** @type {string | null} */
  let error = null;
  let index = 0;
  let n = 0;
  while (n < length) {
    const run = runs[/** @type {number} */ (numbers[n])];
    if (!run) {
      invalid += batch.records - index;
      error ??= `record ${index}: unknown run index ${numbers[n]}`;
      break;
    }
    const horizon = /** @type {number} */ (numbers[n + 7 + run.features.length]);
    const end = n + 8 + run.features.length + horizon * (1 + run.targets.length);
    try {
      body += recordLine(numbers, n, run, routes, id, ids[index]);
      count++;
    } catch (cause) {
      invalid++;
      error ??= `record ${index} (${ids[index]}): ${cause instanceof Error ? cause.message : String(cause)}`;
    }
    n = end;
    index++;
  }
  return { body, count, invalid, error };
}

/**
 * One JSONL line of the record at `n`.
 * @param {Float64Array} numbers @param {number} n
 * @param {{ head: string, features: string[], targets: string[] }} run
 * @param {string[]} routes @param {string} id @param {string | undefined} requestId
 */
function recordLine(numbers, n, run, routes, id, requestId) {
  const route = routes[/** @type {number} */ (numbers[n + 1])];
  const at = /** @type {number} */ (numbers[n + 2]);
  const lastTs = /** @type {number} */ (numbers[n + 3]);
  const latency = /** @type {number} */ (numbers[n + 4]);
  const cached = numbers[n + 5] === 1;
  const rows = /** @type {number} */ (numbers[n + 6]);
  n += 7;
  let last = "";
  for (const key of run.features) last += key + num(/** @type {number} */ (numbers[n++]));
  const horizon = /** @type {number} */ (numbers[n++]);
  let predictions = "";
  for (let k = 0; k < horizon; k++) {
    predictions += `${k === 0 ? "" : ","}{"ts":"${iso(/** @type {number} */ (numbers[n++]))}"`;
    for (const key of run.targets) predictions += key + num(/** @type {number} */ (numbers[n++]));
    predictions += "}";
  }
  return (
    `{"at":"${isoMillis(at)}","request_id":${JSON.stringify(requestId)},"identifier":${id},` +
    `${run.head}${route},"input":{"rows":${num(rows)},"last_ts":"${iso(lastTs)}","last":{${last}}},` +
    `"predictions":[${predictions}],"latency_ms":${num(latency)},"cached":${cached}}\n`
  );
}

port.on("message", async (message) => {
  let jsonl = { body: "", count: 0, invalid: 0, error: /** @type {string | null} */ (null) };
  try {
    jsonl = toJsonl(message);
    if (jsonl.count > 0) {
      await s3.send(
        new PutObjectCommand({
          Bucket: message.bucket,
          Key: message.key,
          // Bytes, not a string: the SDK would measure, encode and hash the string separately.
          Body: Buffer.from(jsonl.body, "utf8"),
          ContentType: "application/x-ndjson",
        }),
      );
    }
    port.postMessage({
      id: message.id,
      written: jsonl.count,
      invalid: jsonl.invalid,
      invalidError: jsonl.error,
    });
  } catch (error) {
    port.postMessage({
      id: message.id,
      failed: message.records - jsonl.invalid,
      invalid: jsonl.invalid,
      invalidError: jsonl.error,
      error: error instanceof Error ? error.message : String(error),
    });
  }
});
