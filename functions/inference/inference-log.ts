/**
 * Inference logs: every forecast is packed into plain arrays on the HTTP thread (no formatting) and
 * handed, per identifier, to the log-writer thread, which writes JSONL to
 * `<bucket>/<identifier>/<YYYYMMDD>/<HHMMSS>-<instance>-<n>.jsonl` every `flushMs` or `maxRecords`.
 */
import { randomBytes } from "node:crypto";
import { Worker } from "node:worker_threads";
import type { StorageConfig } from "../common/config.ts";
import type { Logger } from "../common/log.ts";

export interface ForecastRecord {
  at: number;
  request_id: string;
  identifier: string;
  run_id: string;
  model_type: string;
  route: string;
  features: readonly string[];
  targets: readonly string[];
  /** The model input of this window, `[window, n_features]`; its row count and last row are logged. */
  x: Float32Array;
  window: number;
  last_ts: number;
  /** Forecast times and values (`[steps, n_targets]`); the first `horizon` steps are logged. */
  t: Float64Array;
  y: Float32Array;
  horizon: number;
  latency_ms: number;
  cached: boolean;
}

export interface InferenceLogSettings {
  storage: Pick<StorageConfig, "endpoint" | "forcePathStyle" | "region">;
  bucket: string;
  flushMs: number;
  maxRecords: number;
  /** Records buffered or being written; beyond it new records are dropped (and counted). */
  maxBuffered: number;
}

/**
 * Records of one identifier, packed. Per record: strings `request_id, run_id, model_type, route`;
 * numbers `at, last_ts, latency_ms, cached, rows, <last row: one per feature>, horizon,
 * <per step: t, one value per target>`. Feature and target names travel once per run in `schemas`.
 */
interface Packed {
  identifier: string;
  firstAt: number;
  records: number;
  strings: string[];
  numbers: number[];
  schemas: Record<string, { features: readonly string[]; targets: readonly string[] }>;
}

interface WriterReply {
  id: number;
  written?: number;
  failed?: number;
  error?: string;
}

export class InferenceLog {
  private buffers = new Map<string, Packed>();
  private outstanding = 0;
  private timer: NodeJS.Timeout | null = null;
  private writer: Worker | null = null;
  private readonly pending = new Map<number, { records: number; done: () => void }>();
  private readonly instance = randomBytes(4).toString("hex");
  private sequence = 0;
  private nextId = 1;
  written = 0;

  constructor(
    private readonly settings: InferenceLogSettings,
    private readonly onDrop: (count: number) => void,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.writer = new Worker(new URL("./log-writer.mjs", import.meta.url), {
      workerData: { storage: this.settings.storage },
    });
    this.writer.unref();
    this.writer.on("message", (reply: WriterReply) => this.settle(reply));
    this.writer.on("error", (error) => {
      this.logger.error("inference_log_writer_failed", { error: String(error) });
      for (const id of [...this.pending.keys()])
        this.settle({ id, failed: this.pending.get(id)?.records ?? 0 });
    });
    this.timer = setInterval(() => void this.flush(), this.settings.flushMs);
    this.timer.unref();
  }

  add(r: ForecastRecord): void {
    if (this.outstanding >= this.settings.maxBuffered) {
      this.onDrop(1);
      return;
    }
    let packed = this.buffers.get(r.identifier);
    if (!packed) {
      packed = { identifier: r.identifier, firstAt: r.at, records: 0, strings: [], numbers: [], schemas: {} };
      this.buffers.set(r.identifier, packed);
    }
    packed.schemas[r.run_id] ??= { features: r.features, targets: r.targets };
    packed.strings.push(r.request_id, r.run_id, r.model_type, r.route);
    const { numbers } = packed;
    numbers.push(r.at, r.last_ts, r.latency_ms, r.cached ? 1 : 0, r.window);
    const width = r.features.length;
    const lastRow = (r.window - 1) * width;
    for (let f = 0; f < width; f++) numbers.push(r.x[lastRow + f] as number);
    numbers.push(r.horizon);
    const targets = r.targets.length;
    for (let k = 0; k < r.horizon; k++) {
      numbers.push(r.t[k] as number);
      for (let j = 0; j < targets; j++) numbers.push(r.y[k * targets + j] as number);
    }
    packed.records++;
    this.outstanding++;
    if (packed.records === this.settings.maxRecords) {
      const full = packed;
      this.buffers.delete(r.identifier);
      this.send(full);
    }
  }

  /** Hands everything buffered to the writer; resolves when all writes handed so far are done. */
  flush(): Promise<void> {
    const buffers = [...this.buffers.values()];
    this.buffers = new Map();
    for (const packed of buffers) this.send(packed);
    const waits = [...this.pending.values()].map(
      (p) =>
        new Promise<void>((resolve) => {
          const done = p.done;
          p.done = () => {
            done();
            resolve();
          };
        }),
    );
    return Promise.all(waits).then(() => {});
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.flush();
    await this.writer?.terminate();
    this.writer = null;
  }

  private send(packed: Packed): void {
    if (!this.writer) {
      this.outstanding -= packed.records;
      this.onDrop(packed.records);
      return;
    }
    const id = this.nextId++;
    this.pending.set(id, { records: packed.records, done: () => {} });
    this.writer.postMessage({
      id,
      bucket: this.settings.bucket,
      key: this.keyFor(packed),
      identifier: packed.identifier,
      records: packed.records,
      strings: packed.strings,
      numbers: packed.numbers,
      schemas: packed.schemas,
    });
  }

  private settle(reply: WriterReply): void {
    const call = this.pending.get(reply.id);
    if (!call) return;
    this.pending.delete(reply.id);
    this.outstanding -= call.records;
    if (reply.written) this.written += reply.written;
    if (reply.failed) {
      this.onDrop(reply.failed);
      this.logger.error("inference_log_write_failed", { records: reply.failed, error: reply.error });
    }
    call.done();
  }

  private keyFor(packed: Packed): string {
    const iso = new Date(packed.firstAt).toISOString();
    const day = `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}`;
    const time = `${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}`;
    this.sequence++;
    return `${packed.identifier}/${day}/${time}-${this.instance}-${this.sequence}.jsonl`;
  }
}
