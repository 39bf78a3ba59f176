/** Prometheus metrics of one service instance (its own registry, so several can share a process). */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { ModelIdentity } from "./model.ts";

interface RequestCount {
  route: string;
  method: string;
  status: number;
  count: number;
  reported: number;
}

export class InferenceMetrics {
  readonly registry = new Registry();
  /**
   * Requests are counted in plain numbers on the hot path and added to the counter when the
   * registry is read (prom-client hashes and validates label objects on every `inc`).
   */
  private readonly requestCounts = new Map<string, RequestCount>();
  readonly requests: Counter<"route" | "method" | "status"> = new Counter({
    name: "http_requests_total",
    help: "HTTP requests by route, method and status",
    labelNames: ["route", "method", "status"] as const,
    registers: [this.registry],
    collect: () => this.flushRequestCounts(),
  });
  readonly latency = new Histogram({
    ...this.own("inference_latency_seconds", "Time from request to forecast, by route"),
    labelNames: ["route"] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
  });
  readonly queueLen = new Gauge(
    this.own("inference_queue_len", "Windows queued or running across every model"),
  );
  readonly batchSize = new Histogram({
    ...this.own("inference_batch_size", "Windows per ONNX run"),
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
  });
  readonly modelInfo = new Gauge({
    ...this.own("model_info", "1 for each model being served"),
    labelNames: ["identifier", "run_id", "model_type"] as const,
    // Across service processes: served by any of them, not counted once per process.
    aggregator: "max",
  });
  readonly swaps = new Counter({
    ...this.own("model_swaps_total", "Models loaded and swapped in, by trigger"),
    labelNames: ["trigger"] as const,
  });
  readonly cacheHits = new Counter(
    this.own("inference_cache_hits_total", "Forecasts answered from the cache"),
  );
  readonly logRecordsDropped = new Counter(
    this.own(
      "inference_log_records_dropped_total",
      "Inference log records dropped because the buffer was full or a write failed",
    ),
  );

  /** Label-bound children, so the hot path does not build label objects on every request. */
  private readonly latencyChildren = new Map<string, { observe: (value: number) => void }>();

  countRequest(route: string, method: string, status: number): void {
    // The last combination seen is by far the most likely next one (under load: POST /predict 200).
    const last = this.lastCount;
    if (last !== null && last.route === route && last.method === method && last.status === status) {
      last.count++;
      return;
    }
    const key = `${route} ${method} ${status}`;
    let entry = this.requestCounts.get(key);
    if (!entry) {
      entry = { route, method, status, count: 0, reported: 0 };
      this.requestCounts.set(key, entry);
    }
    entry.count++;
    this.lastCount = entry;
  }

  private lastCount: RequestCount | null = null;

  private flushRequestCounts(): void {
    for (const entry of this.requestCounts.values()) {
      if (entry.count === entry.reported) continue;
      this.requests.inc(
        { route: entry.route, method: entry.method, status: entry.status },
        entry.count - entry.reported,
      );
      entry.reported = entry.count;
    }
  }

  observeLatency(route: string, seconds: number): void {
    let child = this.latencyChildren.get(route);
    if (!child) {
      child = this.latency.labels({ route });
      this.latencyChildren.set(route, child);
    }
    child.observe(seconds);
  }

  /** A metric's name and help, registered on this instance's registry. */
  private own(name: string, help: string) {
    return { name, help, registers: [this.registry] };
  }

  constructor(defaultMetrics = true) {
    if (defaultMetrics) collectDefaultMetrics({ register: this.registry });
  }

  modelServed(model: ModelIdentity): void {
    this.modelInfo.set({ identifier: model.scope, run_id: model.run_id, model_type: model.model_type }, 1);
  }

  modelRetired(model: ModelIdentity): void {
    this.modelInfo.remove({ identifier: model.scope, run_id: model.run_id, model_type: model.model_type });
  }
}
