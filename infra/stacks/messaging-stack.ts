/**
 * Kafka on Amazon MSK with IAM authentication: a Serverless cluster (default), a provisioned one, or
 * an existing cluster imported by ARN (context `msk`). The FLTS topics and their DLQs are created at
 * deploy time by a custom resource that speaks Kafka over the IAM listener.
 */
import path from "node:path";
import { CustomResource, Duration, Stack, type StackProps } from "aws-cdk-lib";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import * as nodejs from "aws-cdk-lib/aws-lambda-nodejs";
import * as logs from "aws-cdk-lib/aws-logs";
import * as msk from "aws-cdk-lib/aws-msk";
import * as cr from "aws-cdk-lib/custom-resources";
import type { Construct } from "constructs";
import { ALL_TOPICS, dlqTopic } from "../../functions/common/contracts.ts";
import type { FltsConfig } from "../config.ts";
import { clusterArnParts, grantKafka, type KafkaClusterRef } from "../constructs/kafka-access.ts";
import {
  bundlingOptions,
  functionLogGroup,
  LAMBDA_ARCHITECTURE,
  LAMBDA_RUNTIME,
  repoRoot,
} from "../constructs/nodejs-defaults.ts";
import { acknowledge } from "../nag.ts";

export interface MessagingStackProps extends StackProps {
  config: FltsConfig;
  vpc: ec2.IVpc;
  kafkaSecurityGroup: ec2.ISecurityGroup;
}

/** Every topic the pipeline uses, with its dead-letter topic. */
export const KAFKA_TOPICS: readonly string[] = [...ALL_TOPICS, ...ALL_TOPICS.map(dlqTopic)];

export class MessagingStack extends Stack {
  readonly cluster: KafkaClusterRef;

  constructor(scope: Construct, id: string, props: MessagingStackProps) {
    super(scope, id, props);
    const { config, vpc, kafkaSecurityGroup } = props;
    const clusterName = `${config.prefix}-kafka`;
    const subnets = vpc.selectSubnets({ subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS });
    let clusterArn: string;
    let nameForMetrics = clusterName;

    if (config.msk.mode === "import") {
      clusterArn = config.msk.clusterArn as string;
      nameForMetrics = clusterArnParts(clusterArn).name;
    } else if (config.msk.mode === "serverless") {
      const cluster = new msk.CfnServerlessCluster(this, "Cluster", {
        clusterName,
        clientAuthentication: { sasl: { iam: { enabled: true } } },
        vpcConfigs: [{ subnetIds: subnets.subnetIds, securityGroups: [kafkaSecurityGroup.securityGroupId] }],
      });
      clusterArn = cluster.attrArn;
    } else {
      const brokerLogs = new logs.LogGroup(this, "BrokerLogs", {
        retention: config.logRetentionDays as logs.RetentionDays,
      });
      const cluster = new msk.CfnCluster(this, "Cluster", {
        clusterName,
        kafkaVersion: config.msk.kafkaVersion,
        numberOfBrokerNodes: config.msk.brokerCount,
        brokerNodeGroupInfo: {
          instanceType: config.msk.brokerInstanceType,
          clientSubnets: subnets.subnetIds.slice(0, config.msk.brokerCount),
          securityGroups: [kafkaSecurityGroup.securityGroupId],
          storageInfo: { ebsStorageInfo: { volumeSize: 100 } },
        },
        clientAuthentication: { sasl: { iam: { enabled: true } }, unauthenticated: { enabled: false } },
        encryptionInfo: { encryptionInTransit: { clientBroker: "TLS", inCluster: true } },
        enhancedMonitoring: "PER_TOPIC_PER_PARTITION",
        loggingInfo: {
          brokerLogs: { cloudWatchLogs: { enabled: true, logGroup: brokerLogs.logGroupName } },
        },
      });
      clusterArn = cluster.attrArn;
    }

    this.cluster = {
      clusterArn,
      clusterName: nameForMetrics,
      vpc,
      securityGroup: kafkaSecurityGroup,
      serverless: config.msk.mode === "serverless",
    };

    // Topics, created at deploy time over IAM auth.
    const onEvent = new nodejs.NodejsFunction(this, "TopicsFn", {
      entry: path.join(repoRoot(), "infra/lambda/kafka-topics.ts"),
      handler: "handler",
      runtime: LAMBDA_RUNTIME,
      architecture: LAMBDA_ARCHITECTURE,
      memorySize: 256,
      timeout: Duration.minutes(5),
      vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      securityGroups: [kafkaSecurityGroup],
      projectRoot: repoRoot(),
      depsLockFilePath: path.join(repoRoot(), "package-lock.json"),
      bundling: bundlingOptions([]),
      logGroup: functionLogGroup(this, "TopicsFnLogs", config.logRetentionDays),
      description: "Creates the FLTS Kafka topics at deploy time",
    });
    grantKafka(onEvent, clusterArn, { admin: [...KAFKA_TOPICS] });
    const provider = new cr.Provider(this, "TopicsProvider", {
      onEventHandler: onEvent,
      logGroup: functionLogGroup(this, "TopicsProviderLogs", config.logRetentionDays),
    });
    const topics = new CustomResource(this, "Topics", {
      serviceToken: provider.serviceToken,
      resourceType: "Custom::FltsKafkaTopics",
      properties: {
        ClusterArn: clusterArn,
        Topics: [...KAFKA_TOPICS],
        Partitions: String(config.msk.topicPartitions),
      },
    });
    topics.node.addDependency(onEvent);

    acknowledge(
      [onEvent, provider],
      [
        {
          id: "AwsSolutions-IAM4",
          reason:
            "AWSLambdaBasicExecutionRole / AWSLambdaVPCAccessExecutionRole are the standard minimal policies for CloudWatch Logs and ENIs of a VPC Lambda.",
          findings: /service-role\/AWSLambda(Basic|VPCAccess)ExecutionRole$/,
        },
        {
          id: "AwsSolutions-IAM5",
          reason:
            "The CDK Provider framework may invoke any version of its own onEvent function (`<fn arn>:*`); nothing else is wildcarded.",
          findings: /^Resource::<.*\.Arn>:\*$/,
        },
        {
          id: "AwsSolutions-L1",
          reason:
            "The Provider framework Lambda's runtime is chosen by aws-cdk-lib; the topics function uses the project runtime.",
        },
      ],
    );
  }
}
