/**
 * `predict_inference_start`, the original services' inference log key (dashboards read it): one
 * line per model per interval, tallying the ONNX runs started in it, rather than one line per run,
 * which under load would be a thousand lines a second.
 */
import type { Logger } from "../common/log.ts";
import type { ModelIdentity } from "./model.ts";

interface Tally {
  identity: ModelIdentity;
  since: number;
  runs: number;
  windows: number;
  requests: number;
  maxWindows: number;
}

export class ForecastTally {
  private readonly tallies = new Map<ModelIdentity, Tally>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly logger: Logger,
    private readonly intervalMs = 1_000,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.flush(), this.intervalMs);
    this.timer.unref();
  }

  /** One ONNX run of `identity`'s model over `windows` windows for `requests` requests. */
  observe(identity: ModelIdentity, windows: number, requests: number): void {
    let tally = this.tallies.get(identity);
    if (!tally) {
      tally = { identity, since: Date.now(), runs: 0, windows: 0, requests: 0, maxWindows: 0 };
      this.tallies.set(identity, tally);
    }
    tally.runs++;
    tally.windows += windows;
    tally.requests += requests;
    if (windows > tally.maxWindows) tally.maxWindows = windows;
  }

  flush(): void {
    const now = Date.now();
    for (const { identity, since, runs, windows, requests, maxWindows } of this.tallies.values()) {
      this.logger.info("predict_inference_start", {
        scope: identity.scope,
        run_id: identity.run_id,
        model_type: identity.model_type,
        runs,
        windows,
        requests,
        max_windows: maxWindows,
        interval_ms: now - since,
      });
    }
    this.tallies.clear();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.flush();
  }
}
