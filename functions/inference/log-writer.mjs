// @ts-check
/**
 * The inference-log thread: turns packed records into JSONL and writes them to S3, so neither the
 * JSON formatting nor the S3 client runs on the HTTP thread. Plain JavaScript so it loads the same
 * way under tsx, vitest and the bundled container. Layout of a packed record: see inference-log.ts.
 */

import { parentPort, workerData } from "node:worker_threads";
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";

const port = /** @type {import("node:worker_threads").MessagePort} */ (parentPort);
const storage = workerData.storage;
const s3 = new S3Client({
  region: storage.region,
  forcePathStyle: storage.forcePathStyle,
  ...(storage.endpoint ? { endpoint: storage.endpoint } : {}),
});

/** @param {number} seconds */
function iso(seconds) {
  const text = new Date(seconds * 1000).toISOString();
  return text.endsWith(".000Z") ? `${text.slice(0, 19)}Z` : text;
}

/** A number as JSON.stringify writes it (non-finite values are null). @param {number} value */
const num = (value) => (Number.isFinite(value) ? String(value) : "null");

/**
 * The JSONL of one packed batch (layout: see inference-log.ts). Lines are built as strings, in the
 * key order of `{at, request_id, identifier, run_id, model_type, route, input: {rows, last_ts, last},
 * predictions: [{ts, <target>...}], latency_ms, cached}`.
 * @param {{ identifier: string, ids: string[], runs: { run_id: string, model_type: string, features: string[], targets: string[] }[], routes: string[], numbers: Float64Array, length: number }} batch
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
  let n = 0;
  while (n < length) {
    const run = /** @type {(typeof runs)[number]} */ (runs[/** @type {number} */ (numbers[n++])]);
    const route = routes[/** @type {number} */ (numbers[n++])];
    const at = /** @type {number} */ (numbers[n++]);
    const lastTs = /** @type {number} */ (numbers[n++]);
    const latency = /** @type {number} */ (numbers[n++]);
    const cached = numbers[n++] === 1;
    const rows = /** @type {number} */ (numbers[n++]);
    let last = "";
    for (const key of run.features) last += key + num(/** @type {number} */ (numbers[n++]));
    const horizon = /** @type {number} */ (numbers[n++]);
    let predictions = "";
    for (let k = 0; k < horizon; k++) {
      predictions += `${k === 0 ? "" : ","}{"ts":"${iso(/** @type {number} */ (numbers[n++]))}"`;
      for (const key of run.targets) predictions += key + num(/** @type {number} */ (numbers[n++]));
      predictions += "}";
    }
    body +=
      `{"at":"${new Date(at).toISOString()}","request_id":${JSON.stringify(ids[count])},"identifier":${id},` +
      `${run.head}${route},"input":{"rows":${num(rows)},"last_ts":"${iso(lastTs)}","last":{${last}}},` +
      `"predictions":[${predictions}],"latency_ms":${num(latency)},"cached":${cached}}\n`;
    count++;
  }
  return { body, count };
}

port.on("message", async (message) => {
  let count = 0;
  try {
    const jsonl = toJsonl(message);
    count = jsonl.count;
    await s3.send(
      new PutObjectCommand({
        Bucket: message.bucket,
        Key: message.key,
        Body: jsonl.body,
        ContentType: "application/x-ndjson",
      }),
    );
    port.postMessage({ id: message.id, written: count });
  } catch (error) {
    port.postMessage({
      id: message.id,
      failed: count || message.records,
      error: error instanceof Error ? error.message : String(error),
    });
  }
});
