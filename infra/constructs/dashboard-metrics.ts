/** CloudWatch metric objects for the custom metrics named in infra/metrics.ts. */
import { Duration } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import { EVENTS_NAMESPACE, type LogEventMetric, PIPELINE_NAMESPACE } from "../metrics.ts";

export const FIVE_MIN = Duration.minutes(5);
export const ONE_MIN = Duration.minutes(1);

/** A log-event count (metric filters on every stage's log group), summed over `period`. */
export function eventMetric(metricName: LogEventMetric, label: string, period = FIVE_MIN): cloudwatch.Metric {
  return new cloudwatch.Metric({ namespace: EVENTS_NAMESPACE, metricName, statistic: "Sum", period, label });
}

/** A stage's EMF count (dimension `service` = its manifest name), summed over `period`. */
export function pipelineMetric(metricName: string, service: string, period = FIVE_MIN): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: PIPELINE_NAMESPACE,
    metricName,
    dimensionsMap: { service },
    statistic: "Sum",
    period,
  });
}
