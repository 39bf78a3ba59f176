/**
 * One CloudWatch dashboard for the whole system and the alarms that page, composed of sections:
 * a row and alarms per stage (from the manifest loop), the Kafka DLQ topics, training and
 * promotions, model drift, and the inference service. Custom metric names are in infra/metrics.ts
 * (infra/README.md).
 */
import { Duration, Stack, type StackProps } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import type * as sns from "aws-cdk-lib/aws-sns";
import type { Construct } from "constructs";
import { TOPICS } from "../../functions/common/contracts.ts";
import type { FltsConfig } from "../config.ts";
import { AlarmChannel } from "../constructs/alarm-channel.ts";
import { DlqTopicsSection } from "../constructs/dlq-topics-section.ts";
import { DriftSection } from "../constructs/drift-section.ts";
import { InferenceSection } from "../constructs/inference-section.ts";
import type { KafkaClusterRef } from "../constructs/kafka-access.ts";
import type { PipelineFunction } from "../constructs/pipeline-function.ts";
import { StageAlarms } from "../constructs/stage-alarms.ts";
import { StageDashboardSection } from "../constructs/stage-dashboard-section.ts";
import type { Trainers } from "../constructs/trainers.ts";
import { TrainingSection } from "../constructs/training-section.ts";
import type { ServingStack } from "./serving-stack.ts";

export interface ObservabilityStackProps extends StackProps {
  config: FltsConfig;
  functions: readonly PipelineFunction[];
  trainers: Trainers;
  serving: ServingStack;
  cluster: KafkaClusterRef;
}

export class ObservabilityStack extends Stack {
  readonly dashboard: cloudwatch.Dashboard;
  readonly alarmTopic: sns.Topic;
  readonly alarms: readonly cloudwatch.Alarm[];

  constructor(scope: Construct, id: string, props: ObservabilityStackProps) {
    super(scope, id, props);
    const { config, functions, trainers, serving, cluster } = props;
    const channel = new AlarmChannel(this, "Alarms", {
      namePrefix: config.prefix,
      ...(config.observability.alarmEmail ? { email: config.observability.alarmEmail } : {}),
    });
    this.alarmTopic = channel.topic;
    this.alarms = channel.alarms;

    const dashboard = new cloudwatch.Dashboard(this, "Dashboard", {
      dashboardName: `${config.prefix}-overview`,
      defaultInterval: Duration.hours(6),
    });
    this.dashboard = dashboard;
    dashboard.addWidgets(
      new cloudwatch.TextWidget({
        markdown: `# FLTS ${config.envName}\nraw CSV → preprocess → training-data → train-dispatch → trainers → train-complete → model-training → evaluate → model-selected → inference`,
        width: 24,
        height: 2,
      }),
    );

    for (const stage of functions) {
      new StageDashboardSection(this, `${stage.spec.name}-section`, { dashboard, stage });
      new StageAlarms(this, `${stage.spec.name}-alarms`, { channel, stage });
    }
    const consumed = (f: PipelineFunction) => (f.spec.trigger.kind === "kafka" ? [f.spec.trigger.topic] : []);
    if (cluster.serverless) {
      new DlqTopicsSection(this, "DlqTopics", {
        dashboard,
        channel,
        clusterName: cluster.clusterName,
        topics: [...new Set(functions.flatMap(consumed))],
      });
    }
    const promoter = functions.find((f) => f.spec.produces.includes(TOPICS.modelSelected));
    new TrainingSection(this, "Training", {
      dashboard,
      channel,
      functions,
      trainers,
      promotionDeadlineHours: config.observability.promotionDeadlineHours,
      ...(promoter ? { promoter } : {}),
    });
    const monitor = functions.find((f) => consumed(f).includes(TOPICS.performanceEval));
    if (monitor) new DriftSection(this, "Drift", { dashboard, channel, monitor });
    new InferenceSection(this, "Inference", {
      dashboard,
      channel,
      service: serving.inference,
      apiId: serving.http.api.apiId,
      p95SloMs: config.serving.p95SloMs,
      targetQueueDepth: config.serving.targetQueueDepth,
      max5xxPercent: config.observability.max5xxPercent,
    });

    dashboard.addWidgets(
      new cloudwatch.AlarmStatusWidget({
        title: "Alarms",
        alarms: channel.alarms,
        width: 24,
        height: Math.max(3, Math.ceil(channel.alarms.length / 4) + 1),
      }),
    );
  }
}
