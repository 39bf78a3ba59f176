/**
 * The alarms of one pipeline stage: Lambda errors, messages it sent to a DLQ and, for S3-triggered
 * stages, events that exhausted their retries in its failure queue.
 */
import { Construct } from "constructs";
import { PIPELINE_METRICS } from "../metrics.ts";
import type { AlarmChannel } from "./alarm-channel.ts";
import { FIVE_MIN, pipelineMetric } from "./dashboard-metrics.ts";
import type { PipelineFunction } from "./pipeline-function.ts";

export interface StageAlarmsProps {
  readonly channel: AlarmChannel;
  readonly stage: PipelineFunction;
}

export class StageAlarms extends Construct {
  constructor(scope: Construct, id: string, props: StageAlarmsProps) {
    super(scope, id);
    const { channel } = props;
    const { fn, spec, failureQueue } = props.stage;
    const name = spec.name;
    channel.nonZero(
      this,
      `${name}-errors`,
      `FLTS stage ${name} reported Lambda errors`,
      fn.metricErrors({ period: FIVE_MIN, statistic: "Sum" }),
    );
    channel.nonZero(
      this,
      `${name}-dlq`,
      `FLTS stage ${name} sent messages to a DLQ-<topic>`,
      pipelineMetric(PIPELINE_METRICS.dlqPublished, name),
    );
    if (failureQueue) {
      channel.nonZero(
        this,
        `${name}-failure-queue`,
        `FLTS stage ${name}: S3 events that exhausted their retries are waiting in the failure queue`,
        failureQueue.metricApproximateNumberOfMessagesVisible({ period: FIVE_MIN, statistic: "Maximum" }),
      );
    }
  }
}
