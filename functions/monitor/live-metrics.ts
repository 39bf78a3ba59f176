/**
 * The monitor's EMF metric: one `LiveErrorRatio` datum per target with a ratio, dimensions
 * `service`, `identifier` and `target`, for the dashboard's live-ratio widget (infra/metrics.ts).
 */
import { type Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import { LIVE_ERROR_RATIO } from "../../infra/metrics.ts";
import type { PerformanceEvalMessage } from "../common/contracts.ts";
import { pipelineMetrics } from "../common/lambda.ts";

let metrics: Metrics | undefined;

function monitorMetrics(): Metrics {
  metrics ??= pipelineMetrics("monitor");
  return metrics;
}

/** Publishes the live MAE ratio of each target of `message` at once (one EMF line per target). */
export function publishLiveRatios(message: Pick<PerformanceEvalMessage, "identifier" | "ratio">): number {
  let published = 0;
  for (const [target, ratio] of Object.entries(message.ratio)) {
    if (ratio === null) continue;
    const single = monitorMetrics().singleMetric();
    single.addDimension("identifier", message.identifier);
    single.addDimension("target", target);
    single.addMetric(LIVE_ERROR_RATIO, MetricUnit.NoUnit, ratio);
    published += 1;
  }
  return published;
}
