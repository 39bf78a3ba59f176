/**
 * One dashboard row per pipeline stage (a manifest function): invocations and errors, duration
 * percentiles, what it waits on (Kafka offset lag, or its failure queue for S3 events) and the
 * messages or objects it processed against those it sent to a DLQ.
 */
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import { Construct } from "constructs";
import { PIPELINE_METRICS } from "../metrics.ts";
import { FIVE_MIN, ONE_MIN, pipelineMetric } from "./dashboard-metrics.ts";
import type { PipelineFunction } from "./pipeline-function.ts";

export interface StageDashboardSectionProps {
  readonly dashboard: cloudwatch.Dashboard;
  readonly stage: PipelineFunction;
  /** Width of each of the row's graphs (24 is the dashboard's). @default 6 */
  readonly widgetWidth?: number;
}

export class StageDashboardSection extends Construct {
  readonly widgets: cloudwatch.IWidget[];

  constructor(scope: Construct, id: string, props: StageDashboardSectionProps) {
    super(scope, id);
    const { fn, spec, failureQueue } = props.stage;
    const name = spec.name;
    const width = props.widgetWidth ?? 6;
    const graph = (title: string, left: cloudwatch.IMetric[]) =>
      new cloudwatch.GraphWidget({ title: `${name}: ${title}`, left, width });
    this.widgets = [
      graph("invocations / errors", [
        fn.metricInvocations({ period: FIVE_MIN }),
        fn.metricErrors({ period: FIVE_MIN }),
        fn.metricThrottles({ period: FIVE_MIN }),
      ]),
      graph(
        "duration (ms)",
        (["p50", "p95", "Maximum"] as const).map((statistic) =>
          fn.metricDuration({ statistic, period: FIVE_MIN, label: statistic }),
        ),
      ),
    ];
    if (spec.trigger.kind === "kafka") {
      this.widgets.push(
        graph(`Kafka offset lag (${spec.trigger.topic})`, [
          new cloudwatch.Metric({
            namespace: "AWS/Lambda",
            metricName: "OffsetLag",
            dimensionsMap: { FunctionName: fn.functionName },
            statistic: "Maximum",
            period: ONE_MIN,
          }),
        ]),
      );
    } else if (failureQueue) {
      this.widgets.push(
        graph("failed S3 events (queue)", [
          failureQueue.metricApproximateNumberOfMessagesVisible({ period: FIVE_MIN }),
        ]),
      );
    }
    this.widgets.push(
      graph("processed / sent to DLQ", [
        pipelineMetric(
          spec.trigger.kind === "kafka"
            ? PIPELINE_METRICS.messagesProcessed
            : PIPELINE_METRICS.objectsProcessed,
          name,
        ),
        pipelineMetric(PIPELINE_METRICS.dlqPublished, name),
      ]),
    );
    props.dashboard.addWidgets(...this.widgets);
  }
}
