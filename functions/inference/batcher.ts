/**
 * Micro-batching: jobs queued for one model are stacked along the batch axis into a single ONNX run
 * and split back. One run at a time per model; jobs that arrive meanwhile form the next batch.
 */
import type { Forecast, QuantileForecaster } from "./model.ts";
import { queueFull, queueTimeout } from "./problem.ts";

/** Queue capacity shared by every model's batcher, counted in windows. */
export class QueueBudget {
  used = 0;
  constructor(
    readonly max: number,
    private readonly onChange: (used: number) => void = () => {},
  ) {}

  take(rows: number): boolean {
    if (this.used + rows > this.max) return false;
    this.used += rows;
    this.onChange(this.used);
    return true;
  }

  give(rows: number): void {
    this.used -= rows;
    this.onChange(this.used);
  }
}

export interface BatcherSettings {
  /** Stack at most this many windows per run (a single larger job still runs alone). */
  maxBatch: number;
  /** 0: run as soon as the event loop turns; otherwise wait this long to gather more. */
  windowMs: number;
  /** A job still queued after this long is answered 503. */
  ttlMs: number;
  xSize: number;
  tSize: number;
  ySize: number;
  /** Floats per window in `q`; 0 for a model without quantiles. */
  qSize: number;
}

export type BatchObserver = (batch: { windows: number; jobs: number }) => void;

interface Job {
  rows: number;
  x: Float32Array;
  t: Float64Array;
  enqueuedAt: number;
  resolve: (forecast: Forecast) => void;
  reject: (error: unknown) => void;
}

export class MicroBatcher {
  private queue: Job[] = [];
  private running = false;
  private scheduled = false;
  private xBuffer: Float32Array;
  private tBuffer: Float64Array;

  constructor(
    private readonly forecast: QuantileForecaster,
    private readonly settings: BatcherSettings,
    private readonly budget: QueueBudget,
    private readonly observe: BatchObserver = () => {},
  ) {
    this.xBuffer = new Float32Array(settings.maxBatch * settings.xSize);
    this.tBuffer = new Float64Array(settings.maxBatch * settings.tSize);
  }

  get pending(): number {
    return this.queue.length;
  }

  /** Forecasts for `rows` windows (`x`: rows × xSize, `t`: rows × tSize); 429 when the queue is full. */
  submit(x: Float32Array, t: Float64Array, rows: number): Promise<Forecast> {
    if (!this.budget.take(rows)) return Promise.reject(queueFull(1));
    return new Promise((resolve, reject) => {
      this.queue.push({ rows, x, t, enqueuedAt: performance.now(), resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.running || this.scheduled) return;
    this.scheduled = true;
    if (this.settings.windowMs > 0) setTimeout(this.flush, this.settings.windowMs);
    else setImmediate(this.flush);
  }

  private readonly flush = (): void => {
    this.scheduled = false;
    const batch = this.takeBatch();
    if (batch.length === 0) return;
    this.running = true;
    void this.execute(batch).finally(() => {
      this.running = false;
      if (this.queue.length > 0) this.schedule();
    });
  };

  private takeBatch(): Job[] {
    const now = performance.now();
    const batch: Job[] = [];
    let windows = 0;
    while (this.queue.length > 0) {
      const job = this.queue[0] as Job;
      if (now - job.enqueuedAt > this.settings.ttlMs) {
        this.queue.shift();
        this.budget.give(job.rows);
        job.reject(queueTimeout(this.settings.ttlMs));
        continue;
      }
      if (batch.length > 0 && windows + job.rows > this.settings.maxBatch) break;
      this.queue.shift();
      batch.push(job);
      windows += job.rows;
    }
    return batch;
  }

  private async execute(batch: Job[]): Promise<void> {
    const { xSize, tSize, ySize, qSize } = this.settings;
    let windows = 0;
    for (const job of batch) windows += job.rows;
    try {
      let x: Float32Array;
      let t: Float64Array;
      if (batch.length === 1) {
        x = (batch[0] as Job).x;
        t = (batch[0] as Job).t;
      } else {
        this.ensureCapacity(windows);
        let row = 0;
        for (const job of batch) {
          this.xBuffer.set(job.x, row * xSize);
          this.tBuffer.set(job.t, row * tSize);
          row += job.rows;
        }
        x = this.xBuffer.subarray(0, windows * xSize);
        t = this.tBuffer.subarray(0, windows * tSize);
      }
      this.observe({ windows, jobs: batch.length });
      const { y, q } = await this.forecast(x, t, windows);
      if (y.length !== windows * ySize || (q ? q.length : 0) !== windows * qSize) {
        throw new Error(`a run of ${windows} windows answered ${y.length} y and ${q?.length ?? 0} q values`);
      }
      let row = 0;
      for (const job of batch) {
        const end = row + job.rows;
        job.resolve({
          y: y.subarray(row * ySize, end * ySize),
          q: q?.subarray(row * qSize, end * qSize) ?? null,
        });
        row = end;
      }
    } catch (error) {
      for (const job of batch) job.reject(error);
    } finally {
      this.budget.give(windows);
    }
  }

  private ensureCapacity(windows: number): void {
    if (this.xBuffer.length >= windows * this.settings.xSize) return;
    this.xBuffer = new Float32Array(windows * this.settings.xSize);
    this.tBuffer = new Float64Array(windows * this.settings.tSize);
  }
}
