/**
 * The pipeline metrics of functions/common/lambda.ts, for stages the local runtime runs: one Powertools
 * Metrics per function (namespace FLTS/Pipeline, dimension `service`), flushed as EMF on stdout after
 * every outcome, as the Lambda adapters do, and handed to the EMF forwarder (LocalStack CloudWatch).
 */
import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import type { FunctionSpec } from "../../functions/manifest.ts";
import { PIPELINE_METRICS, PIPELINE_NAMESPACE } from "../../infra/metrics.ts";
import type { Outcome } from "./consumer.ts";
import { forwardEmfRecord } from "./emf-forwarder.ts";

export interface StageMetrics {
  record(outcome: Outcome<unknown>): void;
  /** Waits for the records handed to the forwarder so far. */
  drain(): Promise<void>;
}

export function stageMetrics(
  specs: readonly FunctionSpec[],
  env: NodeJS.ProcessEnv,
  onError: (error: Error) => void,
): StageMetrics {
  const byFunction = new Map(
    specs.map((spec) => [
      spec.name,
      { spec, metrics: new Metrics({ namespace: PIPELINE_NAMESPACE, serviceName: spec.name }) },
    ]),
  );
  let pending: Promise<unknown> = Promise.resolve();
  return {
    record(outcome) {
      const entry = byFunction.get(outcome.function);
      if (!entry) return;
      const { spec, metrics } = entry;
      const s3 = spec.trigger.kind === "s3";
      if (outcome.ok)
        metrics.addMetric(
          s3 ? PIPELINE_METRICS.objectsProcessed : PIPELINE_METRICS.messagesProcessed,
          MetricUnit.Count,
          1,
        );
      else if (outcome.dlq && !s3) metrics.addMetric(PIPELINE_METRICS.dlqPublished, MetricUnit.Count, 1);
      if (!metrics.hasStoredMetrics()) return;
      const emf = metrics.serializeMetrics();
      metrics.clearMetrics();
      process.stdout.write(`${JSON.stringify(emf)}\n`);
      pending = pending.then(() => forwardEmfRecord(emf, env).catch(onError));
    },
    drain: () => pending.then(() => undefined),
  };
}
