/**
 * Model quality in production, from the monitor stage: the live error ratio (model MAE /
 * persistence MAE on scored batches) per identifier and target, the drift events and their
 * records, and an alarm on any drift event.
 */
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import { Construct } from "constructs";
import {
  LIVE_ERROR_RATIO,
  LIVE_ERROR_RATIO_DIMENSIONS,
  LOG_EVENT_METRICS,
  PIPELINE_NAMESPACE,
} from "../metrics.ts";
import type { AlarmChannel } from "./alarm-channel.ts";
import { eventMetric, FIVE_MIN } from "./dashboard-metrics.ts";
import type { PipelineFunction } from "./pipeline-function.ts";

export interface DriftSectionProps {
  readonly dashboard: cloudwatch.Dashboard;
  readonly channel: AlarmChannel;
  /** The stage that emits LiveErrorRatio and logs model_drift_detected. */
  readonly monitor: PipelineFunction;
}

export class DriftSection extends Construct {
  readonly alarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: DriftSectionProps) {
    super(scope, id);
    const { monitor } = props;
    const dimensions = LIVE_ERROR_RATIO_DIMENSIONS.join(",");
    const liveRatio = new cloudwatch.MathExpression({
      expression: `SEARCH('{${PIPELINE_NAMESPACE},${dimensions}} MetricName="${LIVE_ERROR_RATIO}" service="${monitor.spec.name}"', 'Average', ${FIVE_MIN.toSeconds()})`,
      label: "",
      period: FIVE_MIN,
    });
    const drifts = eventMetric("DriftEvents", "drift detected");
    props.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: "Live error ratio by identifier and target (model MAE / persistence MAE)",
        left: [liveRatio],
        leftAnnotations: [{ value: 1, label: "persistence" }],
        width: 12,
      }),
      new cloudwatch.GraphWidget({ title: "Drift events", left: [drifts], width: 4 }),
      new cloudwatch.LogQueryWidget({
        title: "Latest drift records",
        logGroupNames: [monitor.fn.logGroup.logGroupName],
        queryLines: [
          "fields @timestamp, identifier, run_id, drift_uri",
          `filter message = "${LOG_EVENT_METRICS.DriftEvents}"`,
          "sort @timestamp desc",
          "limit 10",
        ],
        width: 8,
      }),
    );
    this.alarm = props.channel.nonZero(
      this,
      "model-drift",
      `The ${monitor.spec.name} stage found a model whose live error ratio passed its drift threshold against the ratio at promotion`,
      drifts,
    );
  }
}
