/**
 * The inference service on the dashboard (requests, latency percentiles against the SLO, 4xx/5xx/
 * 429, queue length, the serving model, tasks and CPU, model swaps) and its alarms: p95 over the
 * SLO, and the 5xx rate that clients see and that the tasks answer.
 */
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as elbv2 from "aws-cdk-lib/aws-elasticloadbalancingv2";
import { Construct } from "constructs";
import { INFERENCE_METRICS, INFERENCE_NAMESPACE, INFERENCE_SERVICE } from "../metrics.ts";

type PublishedMetric = (typeof INFERENCE_METRICS)[keyof typeof INFERENCE_METRICS];

import type { AlarmChannel } from "./alarm-channel.ts";
import { FIVE_MIN, ONE_MIN } from "./dashboard-metrics.ts";
import type { InferenceService } from "./inference-service.ts";

export interface InferenceSectionProps {
  readonly dashboard: cloudwatch.Dashboard;
  readonly channel: AlarmChannel;
  readonly service: InferenceService;
  /** The HTTP API in front of the service (its `$default` stage). */
  readonly apiId: string;
  /** @default 250 */
  readonly p95SloMs?: number;
  /** Drawn on the queue graph. @default 16 */
  readonly targetQueueDepth?: number;
  /** The 5xx alarms fire above this share of requests. @default 1 */
  readonly max5xxPercent?: number;
}

export class InferenceSection extends Construct {
  constructor(scope: Construct, id: string, props: InferenceSectionProps) {
    super(scope, id);
    const { service, channel } = props;
    const p95SloMs = props.p95SloMs ?? 250;
    const sloSeconds = p95SloMs / 1000;
    const max5xx = props.max5xxPercent ?? 1;
    const tg = service.targetGroup.metrics;
    const lb = service.alb.loadBalancer.metrics;
    const apiMetric = (metricName: string, statistic = "Sum", period = ONE_MIN) =>
      new cloudwatch.Metric({
        namespace: "AWS/ApiGateway",
        metricName,
        dimensionsMap: { ApiId: props.apiId, Stage: "$default" },
        statistic,
        period,
      });
    /** Every series of `metric` (one per value of its dimensions), narrowed by `filter`. */
    const search = (metric: PublishedMetric, filter: string, stat: string, label: string) =>
      new cloudwatch.MathExpression({
        expression: `SEARCH('{${INFERENCE_NAMESPACE},${metric.dimensions.join(",")}} MetricName="${metric.name}"${filter}', '${stat}', 60)`,
        label,
        period: ONE_MIN,
      });
    props.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: "Inference requests",
        left: [apiMetric("Count"), tg.requestCount({ period: ONE_MIN, label: "ALB requests" })],
        width: 6,
      }),
      new cloudwatch.GraphWidget({
        title: "Inference latency p50 / p95 / p99 (s)",
        left: (["p50", "p95", "p99"] as const).map((statistic) =>
          tg.targetResponseTime({ statistic, period: ONE_MIN, label: statistic }),
        ),
        leftAnnotations: [{ value: sloSeconds, label: "p95 SLO" }],
        right: [apiMetric("Latency", "p95")],
        width: 6,
      }),
      new cloudwatch.GraphWidget({
        title: "Inference 4xx / 5xx / 429",
        left: [
          apiMetric("4xx"),
          apiMetric("5xx"),
          tg.httpCodeTarget(elbv2.HttpCodeTarget.TARGET_4XX_COUNT, { period: ONE_MIN, label: "target 4xx" }),
          tg.httpCodeTarget(elbv2.HttpCodeTarget.TARGET_5XX_COUNT, { period: ONE_MIN, label: "target 5xx" }),
          lb.httpCodeElb(elbv2.HttpCodeElb.ELB_5XX_COUNT, {
            period: ONE_MIN,
            label: "ALB 5xx (no healthy task)",
          }),
          search(INFERENCE_METRICS.requests, ' status="429"', "Sum", "429 (queue full)"),
        ],
        width: 6,
      }),
      new cloudwatch.GraphWidget({
        title: "Inference queue length",
        left: [
          new cloudwatch.Metric({
            namespace: INFERENCE_NAMESPACE,
            metricName: INFERENCE_METRICS.queueDepth.name,
            dimensionsMap: { service: INFERENCE_SERVICE },
            statistic: "Maximum",
            period: ONE_MIN,
          }),
        ],
        leftAnnotations: [{ value: props.targetQueueDepth ?? 16, label: "scaling target" }],
        width: 6,
      }),
    );
    props.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: "Current model (model_info by run_id)",
        left: [search(INFERENCE_METRICS.modelInfo, "", "Maximum", "")],
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: "Inference tasks and CPU",
        left: [
          service.service.metricCpuUtilization({ period: ONE_MIN }),
          service.service.metricMemoryUtilization({ period: ONE_MIN }),
        ],
        right: [tg.healthyHostCount({ period: ONE_MIN })],
        width: 8,
      }),
      new cloudwatch.LogQueryWidget({
        title: "Model swaps",
        logGroupNames: [service.logGroup.logGroupName],
        queryLines: [
          "fields @timestamp, run_id, model_type, identifier, message",
          "filter @message like /model_swap|model_loaded|swapped/",
          "sort @timestamp desc",
          "limit 10",
        ],
        width: 8,
      }),
    );

    channel.alarm(this, "inference-p95-over-slo", {
      alarmDescription: `Inference p95 latency above the ${p95SloMs} ms SLO`,
      metric: tg.targetResponseTime({ statistic: "p95", period: ONE_MIN }),
      threshold: sloSeconds,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 5,
      datapointsToAlarm: 3,
    });
    const rateAlarm = (
      name: string,
      description: string,
      label: string,
      errors: cloudwatch.IMetric,
      requests: cloudwatch.IMetric,
    ) =>
      channel.alarm(this, name, {
        alarmDescription: description,
        metric: new cloudwatch.MathExpression({
          expression: "IF(FILL(req, 0) > 0, 100 * FILL(err, 0) / FILL(req, 0), 0)",
          usingMetrics: { err: errors, req: requests },
          period: FIVE_MIN,
          label,
        }),
        threshold: max5xx,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 2,
      });
    // What clients see: every 5xx the API returned (service errors, ALB or VPC-link failures).
    rateAlarm(
      "inference-5xx-rate",
      `API 5xx responses above ${max5xx}% of requests`,
      "API 5xx %",
      apiMetric("5xx", "Sum", FIVE_MIN),
      apiMetric("Count", "Sum", FIVE_MIN),
    );
    // The service itself: 5xx answered by the inference tasks.
    rateAlarm(
      "inference-target-5xx-rate",
      `Inference tasks answered 5xx to more than ${max5xx}% of requests`,
      "target 5xx %",
      tg.httpCodeTarget(elbv2.HttpCodeTarget.TARGET_5XX_COUNT, { period: FIVE_MIN }),
      tg.requestCount({ period: FIVE_MIN }),
    );
  }
}
