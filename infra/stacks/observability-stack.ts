/**
 * One CloudWatch dashboard for the whole system and the alarms that page: DLQs not empty, stage
 * errors, no promotion after training data, p95 latency over the SLO, 5xx rate. Per-stage widgets
 * come from the manifest loop; custom metric names are in infra/metrics.ts (infra/README.md).
 */
import { Duration, Stack, type StackProps } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as actions from "aws-cdk-lib/aws-cloudwatch-actions";
import * as elbv2 from "aws-cdk-lib/aws-elasticloadbalancingv2";
import * as iam from "aws-cdk-lib/aws-iam";
import * as kms from "aws-cdk-lib/aws-kms";
import * as logs from "aws-cdk-lib/aws-logs";
import * as sns from "aws-cdk-lib/aws-sns";
import * as subscriptions from "aws-cdk-lib/aws-sns-subscriptions";
import type { Construct } from "constructs";
import { dlqTopic, TOPICS } from "../../functions/common/contracts.ts";
import type { FltsConfig } from "../config.ts";
import type { KafkaClusterRef } from "../constructs/kafka-access.ts";
import type { PipelineFunction } from "../constructs/pipeline-function.ts";
import type { Trainers } from "../constructs/trainers.ts";
import {
  EVENTS_NAMESPACE,
  INFERENCE_METRICS,
  INFERENCE_NAMESPACE,
  INFERENCE_SERVICE,
  LOG_EVENT_METRICS,
  type LogEventMetric,
  PIPELINE_METRICS,
  PIPELINE_NAMESPACE,
} from "../metrics.ts";
import type { ServingStack } from "./serving-stack.ts";

export interface ObservabilityStackProps extends StackProps {
  config: FltsConfig;
  functions: readonly PipelineFunction[];
  trainers: Trainers;
  serving: ServingStack;
  cluster: KafkaClusterRef;
}

const FIVE_MIN = Duration.minutes(5);
const ONE_MIN = Duration.minutes(1);

export class ObservabilityStack extends Stack {
  readonly dashboard: cloudwatch.Dashboard;
  readonly alarmTopic: sns.Topic;
  readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: ObservabilityStackProps) {
    super(scope, id, props);
    const { config, functions, trainers, serving, cluster } = props;

    const key = new kms.Key(this, "AlarmTopicKey", {
      enableKeyRotation: true,
      description: "FLTS alarm notifications",
    });
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        actions: ["kms:Decrypt", "kms:GenerateDataKey*"],
        principals: [new iam.ServicePrincipal("cloudwatch.amazonaws.com")],
        resources: ["*"],
      }),
    );
    this.alarmTopic = new sns.Topic(this, "Alarms", {
      topicName: `${config.prefix}-alarms`,
      masterKey: key,
      enforceSSL: true,
    });
    if (config.observability.alarmEmail) {
      this.alarmTopic.addSubscription(new subscriptions.EmailSubscription(config.observability.alarmEmail));
    }
    const alarmAction = new actions.SnsAction(this.alarmTopic);
    const alarm = (id: string, props: cloudwatch.AlarmProps): cloudwatch.Alarm => {
      const a = new cloudwatch.Alarm(this, id, {
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        ...props,
      });
      a.addAlarmAction(alarmAction);
      a.addOkAction(alarmAction);
      this.alarms.push(a);
      return a;
    };

    this.dashboard = new cloudwatch.Dashboard(this, "Dashboard", {
      dashboardName: `${config.prefix}-overview`,
      defaultInterval: Duration.hours(6),
    });
    const d = this.dashboard;
    d.addWidgets(
      new cloudwatch.TextWidget({
        markdown: `# FLTS ${config.envName}\nraw CSV → preprocess → training-data → train-dispatch → trainers → train-complete → model-training → evaluate → model-selected → inference`,
        width: 24,
        height: 2,
      }),
    );

    // --- per stage (one row per manifest function) ---
    for (const pf of functions) {
      const { fn, spec } = pf;
      const name = spec.name;
      const widgets: cloudwatch.IWidget[] = [
        new cloudwatch.GraphWidget({
          title: `${name}: invocations / errors`,
          left: [
            fn.metricInvocations({ period: FIVE_MIN }),
            fn.metricErrors({ period: FIVE_MIN }),
            fn.metricThrottles({ period: FIVE_MIN }),
          ],
          width: 6,
        }),
        new cloudwatch.GraphWidget({
          title: `${name}: duration (ms)`,
          left: (["p50", "p95", "Maximum"] as const).map((statistic) =>
            fn.metricDuration({ statistic, period: FIVE_MIN, label: statistic }),
          ),
          width: 6,
        }),
      ];
      if (spec.trigger.kind === "kafka") {
        widgets.push(
          new cloudwatch.GraphWidget({
            title: `${name}: Kafka offset lag (${spec.trigger.topic})`,
            left: [
              new cloudwatch.Metric({
                namespace: "AWS/Lambda",
                metricName: "OffsetLag",
                dimensionsMap: { FunctionName: fn.functionName },
                statistic: "Maximum",
                period: ONE_MIN,
              }),
            ],
            width: 6,
          }),
        );
      } else if (pf.failureQueue) {
        widgets.push(
          new cloudwatch.GraphWidget({
            title: `${name}: failed S3 events (queue)`,
            left: [pf.failureQueue.metricApproximateNumberOfMessagesVisible({ period: FIVE_MIN })],
            width: 6,
          }),
        );
      }
      widgets.push(
        new cloudwatch.GraphWidget({
          title: `${name}: processed / sent to DLQ`,
          left: [
            pipelineMetric(
              spec.trigger.kind === "kafka"
                ? PIPELINE_METRICS.messagesProcessed
                : PIPELINE_METRICS.objectsProcessed,
              name,
            ),
            pipelineMetric(PIPELINE_METRICS.dlqPublished, name),
          ],
          width: 6,
        }),
      );
      d.addWidgets(...widgets);

      alarm(`${name}-errors`, {
        alarmName: `${config.prefix}-${name}-errors`,
        alarmDescription: `FLTS stage ${name} reported Lambda errors`,
        metric: fn.metricErrors({ period: FIVE_MIN, statistic: "Sum" }),
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
      });
      alarm(`${name}-dlq-published`, {
        alarmName: `${config.prefix}-${name}-dlq`,
        alarmDescription: `FLTS stage ${name} sent messages to a DLQ-<topic>`,
        metric: pipelineMetric(PIPELINE_METRICS.dlqPublished, name),
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
      });
      if (pf.failureQueue) {
        alarm(`${name}-failure-queue`, {
          alarmName: `${config.prefix}-${name}-failure-queue`,
          alarmDescription: `FLTS stage ${name}: S3 events that exhausted their retries are waiting in the failure queue`,
          metric: pf.failureQueue.metricApproximateNumberOfMessagesVisible({
            period: FIVE_MIN,
            statistic: "Maximum",
          }),
          threshold: 0,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
          evaluationPeriods: 1,
        });
      }
    }

    // --- Kafka DLQ topics (records the event-source mappings gave up on) ---
    const consumedTopics = [
      ...new Set(functions.flatMap((f) => (f.spec.trigger.kind === "kafka" ? [f.spec.trigger.topic] : []))),
    ];
    if (cluster.serverless) {
      const dlqMetrics = consumedTopics.map(
        (topic) =>
          new cloudwatch.Metric({
            namespace: "AWS/Kafka",
            metricName: "MessagesInPerSec",
            dimensionsMap: { "Cluster Name": cluster.clusterName, Topic: dlqTopic(topic) },
            statistic: "Maximum",
            period: FIVE_MIN,
            label: dlqTopic(topic),
          }),
      );
      d.addWidgets(
        new cloudwatch.GraphWidget({ title: "DLQ topics: messages in/s", left: dlqMetrics, width: 12 }),
      );
      consumedTopics.forEach((topic, i) => {
        alarm(`dlq-topic-${topic}`, {
          alarmName: `${config.prefix}-${dlqTopic(topic)}-not-empty`,
          alarmDescription: `Messages arrived on ${dlqTopic(topic)}`,
          metric: dlqMetrics[i] as cloudwatch.Metric,
          threshold: 0,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
          evaluationPeriods: 1,
        });
      });
    }

    // --- training runs and promotions: counted from the stages' log events (metric filters) ---
    // Every event filter is set on every stage's log group, so no stage is named here.
    for (const pf of functions) {
      for (const [metricName, event] of Object.entries(LOG_EVENT_METRICS)) {
        new logs.MetricFilter(this, `${pf.spec.name}-${metricName}`, {
          logGroup: pf.fn.logGroup,
          filterPattern: logs.FilterPattern.stringValue("$.message", "=", event),
          metricNamespace: EVENTS_NAMESPACE,
          metricName,
          metricValue: "1",
          defaultValue: 0,
        });
      }
    }
    const trainingWidgets: cloudwatch.IWidget[] = [
      new cloudwatch.GraphWidget({
        title: "Training runs by status",
        left: [
          eventMetric("TrainingRunsLaunched", "launched (RUNNING)"),
          eventMetric("TrainingRunsSucceeded", "SUCCESS"),
          eventMetric("TrainingRunsFailed", "FAILED"),
          eventMetric("TrainerLaunchFailed", "launch failed"),
        ],
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: "Training data and promotions",
        left: [
          eventMetric("TrainingDataPublished", "training-data published"),
          eventMetric("SkippedIdempotent", "skipped (same config_hash)"),
          eventMetric("Promotions", "promotions"),
          eventMetric("PromotionsDeclined", "champion kept"),
        ],
        width: 8,
      }),
    ];
    if (trainers.lambdaFunction) {
      const t = trainers.lambdaFunction;
      trainingWidgets.push(
        new cloudwatch.GraphWidget({
          title: "Trainer Lambda",
          left: [t.metricInvocations({ period: FIVE_MIN }), t.metricErrors({ period: FIVE_MIN })],
          right: [t.metricDuration({ statistic: "Maximum", period: FIVE_MIN })],
          width: 8,
        }),
      );
    }
    if (trainers.cluster) {
      trainingWidgets.push(
        new cloudwatch.GraphWidget({
          title: "Trainer ECS tasks running",
          left: [
            new cloudwatch.Metric({
              namespace: "ECS/ContainerInsights",
              metricName: "TaskCount",
              dimensionsMap: { ClusterName: trainers.cluster.clusterName },
              statistic: "Maximum",
              period: ONE_MIN,
            }),
          ],
          width: 8,
        }),
      );
    }
    d.addWidgets(...trainingWidgets);
    const promoter = functions.find((f) => f.spec.produces.includes(TOPICS.modelSelected));
    if (promoter) {
      d.addWidgets(
        new cloudwatch.LogQueryWidget({
          title: "Latest promotions (scoreboard)",
          logGroupNames: [promoter.fn.logGroup.logGroupName],
          queryLines: [
            "fields @timestamp, message, run_id, model_type, config_hash, score",
            "filter @message like /promotion_scoreboard|model_selected/",
            "sort @timestamp desc",
            "limit 20",
          ],
          width: 24,
          height: 6,
        }),
      );
    }
    if (trainers.lambdaFailures) {
      alarm("trainer-failures", {
        alarmName: `${config.prefix}-trainer-failure-queue`,
        alarmDescription: "Trainer Lambda invocations crashed (not a _FAILED run: the process itself failed)",
        metric: trainers.lambdaFailures.metricApproximateNumberOfMessagesVisible({
          period: FIVE_MIN,
          statistic: "Maximum",
        }),
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
      });
    }

    // No promotion decision within N hours of training data arriving (a declined promotion is a
    // decision: the champion was kept; silence means a stage or trainer is stuck).
    {
      const hours = config.observability.promotionDeadlineHours;
      const period = Duration.hours(hours);
      alarm("no-promotion", {
        alarmName: `${config.prefix}-no-promotion`,
        alarmDescription: `Training data was published but no promotion decision followed within ${hours} h`,
        metric: new cloudwatch.MathExpression({
          expression: "IF(FILL(td, 0) > 0 AND FILL(pr, 0) + FILL(pd, 0) == 0, 1, 0)",
          usingMetrics: {
            td: eventMetric("TrainingDataPublished", "training data", period),
            pr: eventMetric("Promotions", "promotions", period),
            pd: eventMetric("PromotionsDeclined", "declined", period),
          },
          period,
          label: "training data without promotion decision",
        }),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
      });
    }

    // --- inference ---
    const tg = serving.targetGroup.metrics;
    const lb = serving.loadBalancer.metrics;
    const apiDims = { ApiId: serving.api.apiId, Stage: "$default" };
    const apiMetric = (metricName: string, statistic = "Sum", period = ONE_MIN) =>
      new cloudwatch.Metric({
        namespace: "AWS/ApiGateway",
        metricName,
        dimensionsMap: apiDims,
        statistic,
        period,
      });
    const inferenceSearch = (query: string, stat: string, label: string) =>
      new cloudwatch.MathExpression({
        expression: `SEARCH('{${INFERENCE_NAMESPACE},${query}', '${stat}', 60)`,
        label,
        period: ONE_MIN,
      });
    d.addWidgets(
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
        leftAnnotations: [{ value: config.serving.p95SloMs / 1000, label: "p95 SLO" }],
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
          inferenceSearch(
            `service,status} MetricName="${INFERENCE_METRICS.requests}" status="429"`,
            "Sum",
            "429 (queue full)",
          ),
        ],
        width: 6,
      }),
      new cloudwatch.GraphWidget({
        title: "Inference queue length",
        left: [
          new cloudwatch.Metric({
            namespace: INFERENCE_NAMESPACE,
            metricName: INFERENCE_METRICS.queueDepth,
            dimensionsMap: { service: INFERENCE_SERVICE },
            statistic: "Maximum",
            period: ONE_MIN,
          }),
        ],
        leftAnnotations: [{ value: config.serving.targetQueueDepth, label: "scaling target" }],
        width: 6,
      }),
    );
    d.addWidgets(
      new cloudwatch.GraphWidget({
        title: "Current model (model_info by run_id)",
        left: [
          inferenceSearch(
            `service,model_type,run_id} MetricName="${INFERENCE_METRICS.modelInfo}"`,
            "Maximum",
            "",
          ),
        ],
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: "Inference tasks and CPU",
        left: [
          serving.service.metricCpuUtilization({ period: ONE_MIN }),
          serving.service.metricMemoryUtilization({ period: ONE_MIN }),
        ],
        right: [tg.healthyHostCount({ period: ONE_MIN })],
        width: 8,
      }),
      new cloudwatch.LogQueryWidget({
        title: "Model swaps",
        logGroupNames: [serving.logGroup.logGroupName],
        queryLines: [
          "fields @timestamp, run_id, model_type, identifier, message",
          "filter @message like /model_swap|model_loaded|swapped/",
          "sort @timestamp desc",
          "limit 10",
        ],
        width: 8,
      }),
    );

    alarm("p95-latency", {
      alarmName: `${config.prefix}-inference-p95-over-slo`,
      alarmDescription: `Inference p95 latency above the ${config.serving.p95SloMs} ms SLO`,
      metric: tg.targetResponseTime({ statistic: "p95", period: ONE_MIN }),
      threshold: config.serving.p95SloMs / 1000,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 5,
      datapointsToAlarm: 3,
    });
    const rate = (errors: cloudwatch.IMetric, requests: cloudwatch.IMetric, label: string) =>
      new cloudwatch.MathExpression({
        expression: "IF(FILL(req, 0) > 0, 100 * FILL(err, 0) / FILL(req, 0), 0)",
        usingMetrics: { err: errors, req: requests },
        period: FIVE_MIN,
        label,
      });
    // What clients see: every 5xx the API returned (service errors, ALB or VPC-link failures).
    alarm("5xx-rate", {
      alarmName: `${config.prefix}-inference-5xx-rate`,
      alarmDescription: `API 5xx responses above ${config.observability.max5xxPercent}% of requests`,
      metric: rate(apiMetric("5xx", "Sum", FIVE_MIN), apiMetric("Count", "Sum", FIVE_MIN), "API 5xx %"),
      threshold: config.observability.max5xxPercent,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 2,
    });
    // The service itself: 5xx answered by the inference tasks.
    alarm("target-5xx-rate", {
      alarmName: `${config.prefix}-inference-target-5xx-rate`,
      alarmDescription: `Inference tasks answered 5xx to more than ${config.observability.max5xxPercent}% of requests`,
      metric: rate(
        tg.httpCodeTarget(elbv2.HttpCodeTarget.TARGET_5XX_COUNT, { period: FIVE_MIN }),
        tg.requestCount({ period: FIVE_MIN }),
        "target 5xx %",
      ),
      threshold: config.observability.max5xxPercent,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 2,
    });

    d.addWidgets(
      new cloudwatch.AlarmStatusWidget({
        title: "Alarms",
        alarms: this.alarms,
        width: 24,
        height: Math.max(3, Math.ceil(this.alarms.length / 4) + 1),
      }),
    );
  }
}

function eventMetric(
  metricName: LogEventMetric,
  label: string,
  period: Duration = FIVE_MIN,
): cloudwatch.Metric {
  return new cloudwatch.Metric({ namespace: EVENTS_NAMESPACE, metricName, statistic: "Sum", period, label });
}

function pipelineMetric(metricName: string, service: string, period: Duration = FIVE_MIN): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: PIPELINE_NAMESPACE,
    metricName,
    dimensionsMap: { service },
    statistic: "Sum",
    period,
  });
}
