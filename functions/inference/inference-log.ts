/**
 * Inference logs: every forecast is packed into a Float64Array on the HTTP thread (no formatting) and
 * handed, per identifier, to the log-writer thread, which writes JSONL to
 * `<bucket>/<identifier>/<YYYYMMDD>/<HHMMSS>-<instance>-<n>.jsonl` every `flushMs` or `maxRecords`.
 */
import { randomBytes } from "node:crypto";
import { Worker } from "node:worker_threads";
import type { StorageConfig } from "../common/config.ts";
import { inferenceLogKeys } from "../common/keys.ts";
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
 * Records of one identifier, packed without formatting. Per record, in `numbers`: `run, route,
 * at, last_ts, latency_ms, cached, rows, <last row: one per feature>, horizon, <per step: t, one
 * value per target>`, where `run` and `route` index the `runs` and `routes` tables (so run ids,
 * model types, routes and feature names travel once per batch). Request ids are in `ids`. The
 * numbers' buffer is transferred to the writer thread, not copied.
 */
interface Packed {
  identifier: string;
  firstAt: number;
  records: number;
  ids: string[];
  runs: { run_id: string; model_type: string; features: readonly string[]; targets: readonly string[] }[];
  routes: string[];
  numbers: Float64Array<ArrayBuffer>;
  length: number;
}

/** Initial capacity of a batch's numbers, in records (grown by doubling when a batch outgrows it). */
const INITIAL_RECORDS = 256;

interface WriterReply {
  id: number;
  written?: number;
  /** Records left out because they cannot be written (the rest of their object still is). */
  invalid?: number;
  invalidError?: string | null;
  /** Records lost because the object could not be written. */
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
    const width = r.features.length;
    const targets = r.targets.length;
    const size = 9 + width + r.horizon * (1 + targets);
    let packed = this.buffers.get(r.identifier);
    if (!packed) {
      packed = {
        identifier: r.identifier,
        firstAt: r.at,
        records: 0,
        ids: [],
        runs: [],
        routes: [],
        numbers: new Float64Array(Math.min(INITIAL_RECORDS, this.settings.maxRecords) * size),
        length: 0,
      };
      this.buffers.set(r.identifier, packed);
    }
    let run = packed.runs.length - 1;
    if (run < 0 || (packed.runs[run] as Packed["runs"][number]).run_id !== r.run_id) {
      run = packed.runs.findIndex((entry) => entry.run_id === r.run_id);
      if (run < 0) {
        run = packed.runs.length;
        packed.runs.push({
          run_id: r.run_id,
          model_type: r.model_type,
          features: r.features,
          targets: r.targets,
        });
      }
    }
    let route = packed.routes.indexOf(r.route);
    if (route < 0) route = packed.routes.push(r.route) - 1;
    let n = packed.length;
    if (n + size > packed.numbers.length) {
      const grown = new Float64Array(Math.max(packed.numbers.length * 2, n + size));
      grown.set(packed.numbers.subarray(0, n));
      packed.numbers = grown;
    }
    const numbers = packed.numbers;
    packed.ids.push(r.request_id);
    numbers[n++] = run;
    numbers[n++] = route;
    numbers[n++] = r.at;
    numbers[n++] = r.last_ts;
    numbers[n++] = r.latency_ms;
    numbers[n++] = r.cached ? 1 : 0;
    numbers[n++] = r.window;
    const lastRow = (r.window - 1) * width;
    for (let f = 0; f < width; f++) numbers[n++] = r.x[lastRow + f] as number;
    numbers[n++] = r.horizon;
    for (let k = 0; k < r.horizon; k++) {
      numbers[n++] = r.t[k] as number;
      for (let j = 0; j < targets; j++) numbers[n++] = r.y[k * targets + j] as number;
    }
    packed.length = n;
    packed.records++;
    this.outstanding++;
    if (packed.records === this.settings.maxRecords) {
      this.buffers.delete(r.identifier);
      this.send(packed);
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
    const numbers = packed.numbers;
    this.writer.postMessage(
      {
        id,
        bucket: this.settings.bucket,
        key: this.keyFor(packed),
        identifier: packed.identifier,
        records: packed.records,
        ids: packed.ids,
        runs: packed.runs,
        routes: packed.routes,
        numbers,
        length: packed.length,
      },
      [numbers.buffer],
    );
  }

  private settle(reply: WriterReply): void {
    const call = this.pending.get(reply.id);
    if (!call) return;
    this.pending.delete(reply.id);
    this.outstanding -= call.records;
    if (reply.written) this.written += reply.written;
    if (reply.invalid) {
      this.onDrop(reply.invalid);
      this.logger.error("inference_log_records_invalid", {
        records: reply.invalid,
        error: reply.invalidError,
      });
    }
    if (reply.failed) {
      this.onDrop(reply.failed);
      this.logger.error("inference_log_write_failed", { records: reply.failed, error: reply.error });
    }
    call.done();
  }

  private keyFor(packed: Packed): string {
    this.sequence++;
    return inferenceLogKeys.requests(
      packed.identifier,
      new Date(packed.firstAt),
      this.instance,
      this.sequence,
    );
  }
}
