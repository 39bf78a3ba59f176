/**
 * Training runs and promotions on the dashboard, counted from the stages' log events: a metric
 * filter per LOG_EVENT_METRICS entry on every stage's log group (so no stage is named here), the
 * trainers' own metrics, the latest promotion scoreboards, and the alarms for crashed trainer
 * invocations and for training data that no promotion decision followed.
 */
import { Duration } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as logs from "aws-cdk-lib/aws-logs";
import { Construct } from "constructs";
import { EVENTS_NAMESPACE, LOG_EVENT_METRICS } from "../metrics.ts";
import type { AlarmChannel } from "./alarm-channel.ts";
import { eventMetric, FIVE_MIN, ONE_MIN } from "./dashboard-metrics.ts";
import type { PipelineFunction } from "./pipeline-function.ts";
import type { Trainers } from "./trainers.ts";

export interface TrainingSectionProps {
  readonly dashboard: cloudwatch.Dashboard;
  readonly channel: AlarmChannel;
  /** Every stage: each log group gets every event's filter. */
  readonly functions: readonly PipelineFunction[];
  readonly trainers: Trainers;
  /** The stage whose log shows the promotion scoreboards. @default no scoreboard widget */
  readonly promoter?: PipelineFunction;
  /** Training data without a promotion decision this long alarms. @default 6 */
  readonly promotionDeadlineHours?: number;
}

export class TrainingSection extends Construct {
  constructor(scope: Construct, id: string, props: TrainingSectionProps) {
    super(scope, id);
    const { dashboard, channel, trainers } = props;
    for (const pf of props.functions) {
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
    const widgets: cloudwatch.IWidget[] = [
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
    const t = trainers.lambdaFunction;
    if (t) {
      widgets.push(
        new cloudwatch.GraphWidget({
          title: "Trainer Lambda",
          left: [t.metricInvocations({ period: FIVE_MIN }), t.metricErrors({ period: FIVE_MIN })],
          right: [t.metricDuration({ statistic: "Maximum", period: FIVE_MIN })],
          width: 8,
        }),
      );
    }
    if (trainers.cluster) {
      widgets.push(
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
    dashboard.addWidgets(...widgets);
    if (props.promoter) {
      dashboard.addWidgets(
        new cloudwatch.LogQueryWidget({
          title: "Latest promotions (scoreboard)",
          logGroupNames: [props.promoter.fn.logGroup.logGroupName],
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
      channel.nonZero(
        this,
        "trainer-failure-queue",
        "Trainer Lambda invocations crashed (not a _FAILED run: the process itself failed)",
        trainers.lambdaFailures.metricApproximateNumberOfMessagesVisible({
          period: FIVE_MIN,
          statistic: "Maximum",
        }),
      );
    }
    this.addNoPromotionAlarm(channel, props.promotionDeadlineHours ?? 6);
  }

  /**
   * No promotion decision within `hours` of training data arriving (a declined promotion is a
   * decision: the champion was kept; silence means a stage or trainer is stuck).
   */
  private addNoPromotionAlarm(channel: AlarmChannel, hours: number): void {
    const period = Duration.hours(hours);
    channel.alarm(this, "no-promotion", {
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
}
