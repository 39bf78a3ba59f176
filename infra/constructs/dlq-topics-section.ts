/**
 * The Kafka DLQ topics (records the event-source mappings gave up on): their message rate on the
 * dashboard and an alarm per topic. Only MSK Serverless publishes per-topic metrics, so a
 * provisioned cluster gets neither (its stages' DLQ alarms still fire, from the stages' EMF).
 */
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import { Construct } from "constructs";
import { dlqTopic } from "../../functions/common/contracts.ts";
import type { AlarmChannel } from "./alarm-channel.ts";
import { FIVE_MIN } from "./dashboard-metrics.ts";

export interface DlqTopicsSectionProps {
  readonly dashboard: cloudwatch.Dashboard;
  readonly channel: AlarmChannel;
  /** The cluster's `Cluster Name` dimension. */
  readonly clusterName: string;
  /** The consumed topics, each with its `DLQ-<topic>`. */
  readonly topics: readonly string[];
}

export class DlqTopicsSection extends Construct {
  constructor(scope: Construct, id: string, props: DlqTopicsSectionProps) {
    super(scope, id);
    const metrics = props.topics.map((topic) => {
      const metric = new cloudwatch.Metric({
        namespace: "AWS/Kafka",
        metricName: "MessagesInPerSec",
        dimensionsMap: { "Cluster Name": props.clusterName, Topic: dlqTopic(topic) },
        statistic: "Maximum",
        period: FIVE_MIN,
        label: dlqTopic(topic),
      });
      props.channel.nonZero(
        this,
        `${dlqTopic(topic)}-not-empty`,
        `Messages arrived on ${dlqTopic(topic)}`,
        metric,
      );
      return metric;
    });
    props.dashboard.addWidgets(
      new cloudwatch.GraphWidget({ title: "DLQ topics: messages in/s", left: metrics, width: 12 }),
    );
  }
}
