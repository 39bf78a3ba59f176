/**
 * Inference logs: every forecast is buffered in memory and written, off the request path, as JSONL to
 * `<bucket>/<identifier>/<YYYYMMDD>/<HHMMSS>-<id>.jsonl` every `flushMs` or `maxRecords` records.
 */
import { randomBytes } from "node:crypto";
import type { S3Client } from "@aws-sdk/client-s3";
import type { Logger } from "../common/log.ts";
import { putBytes } from "../common/s3.ts";
import { toIsoUtc } from "./timestamps.ts";

export interface ForecastRecord {
  at: number;
  request_id: string;
  identifier: string;
  run_id: string;
  model_type: string;
  route: string;
  features: readonly string[];
  window: number;
  /** The model input of this window, `[window, n_features]`; summarised when written. */
  x: Float32Array;
  last_ts: number;
  predictions: unknown;
  latency_ms: number;
  cached: boolean;
}

export interface InferenceLogSettings {
  bucket: string;
  flushMs: number;
  maxRecords: number;
  /** Records kept while writes lag; beyond it new records are dropped (and counted). */
  maxBuffered: number;
}

export class InferenceLog {
  private buffers = new Map<string, ForecastRecord[]>();
  private buffered = 0;
  private timer: NodeJS.Timeout | null = null;
  private writing: Promise<void> = Promise.resolve();
  private readonly instance = randomBytes(4).toString("hex");
  private sequence = 0;
  written = 0;

  constructor(
    private readonly s3: S3Client,
    private readonly settings: InferenceLogSettings,
    private readonly onDrop: (count: number) => void,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.flush(), this.settings.flushMs);
    this.timer.unref();
  }

  add(record: ForecastRecord): void {
    if (this.buffered >= this.settings.maxBuffered) {
      this.onDrop(1);
      return;
    }
    let buffer = this.buffers.get(record.identifier);
    if (!buffer) {
      buffer = [];
      this.buffers.set(record.identifier, buffer);
    }
    buffer.push(record);
    this.buffered++;
    if (buffer.length >= this.settings.maxRecords) setImmediate(() => void this.flush());
  }

  /** Writes everything buffered so far; resolves when those writes (and earlier ones) are done. */
  flush(): Promise<void> {
    if (this.buffered === 0) return this.writing;
    const batches = this.buffers;
    this.buffers = new Map();
    this.buffered = 0;
    const write = Promise.all([...batches.values()].map((records) => this.write(records))).then(() => {});
    this.writing = Promise.all([this.writing, write]).then(() => {});
    return this.writing;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.flush();
  }

  private async write(records: ForecastRecord[]): Promise<void> {
    for (let start = 0; start < records.length; start += this.settings.maxRecords) {
      const chunk = records.slice(start, start + this.settings.maxRecords);
      const key = this.keyFor(chunk[0] as ForecastRecord);
      const body = `${chunk.map((r) => JSON.stringify(toLine(r))).join("\n")}\n`;
      try {
        await putBytes(this.s3, this.settings.bucket, key, body, "application/x-ndjson");
        this.written += chunk.length;
      } catch (error) {
        this.onDrop(chunk.length);
        this.logger.error("inference_log_write_failed", { key, records: chunk.length, error: String(error) });
      }
    }
  }

  private keyFor(first: ForecastRecord): string {
    const iso = new Date(first.at).toISOString();
    const day = `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}`;
    const time = `${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}`;
    this.sequence++;
    return `${first.identifier}/${day}/${time}-${this.instance}-${this.sequence}.jsonl`;
  }
}

function toLine(r: ForecastRecord) {
  return {
    at: new Date(r.at).toISOString(),
    request_id: r.request_id,
    identifier: r.identifier,
    run_id: r.run_id,
    model_type: r.model_type,
    route: r.route,
    input: summarise(r),
    predictions: r.predictions,
    latency_ms: r.latency_ms,
    cached: r.cached,
  };
}

/** The input in brief: how many rows, when the window ends, and each column's last value. */
function summarise(r: ForecastRecord) {
  const width = r.features.length;
  const last: Record<string, number> = {};
  const offset = (r.window - 1) * width;
  for (let f = 0; f < width; f++) last[r.features[f] as string] = r.x[offset + f] as number;
  return { rows: r.window, last_ts: toIsoUtc(r.last_ts), last };
}
