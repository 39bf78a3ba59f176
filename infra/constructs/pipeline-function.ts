/**
 * One manifest entry → one Lambda with its trigger, failure handling, layers and least-privilege
 * grants. Nothing about a function is declared here that the manifest already says.
 */
import path from "node:path";
import { Duration, Size } from "aws-cdk-lib";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import * as events from "aws-cdk-lib/aws-events";
import * as eventTargets from "aws-cdk-lib/aws-events-targets";
import * as lambda from "aws-cdk-lib/aws-lambda";
import * as sources from "aws-cdk-lib/aws-lambda-event-sources";
import * as nodejs from "aws-cdk-lib/aws-lambda-nodejs";
import * as s3 from "aws-cdk-lib/aws-s3";
import type * as sqs from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { DISPATCHED_MODEL_TYPES, dlqTopic } from "../../functions/common/contracts.ts";
import type { FunctionSpec, KafkaTrigger, S3Trigger, ScheduleTrigger } from "../../functions/manifest.ts";
import type { FltsConfig } from "../config.ts";
import { PIPELINE_NAMESPACE } from "../metrics.ts";
import { acknowledge } from "../nag.ts";
import { type BucketMap, bucketEnvironment, grantBuckets } from "./bucket-access.ts";
import { grantKafka, type KafkaClusterRef } from "./kafka-access.ts";
import { layerExternals, type NativeLayers } from "./native-layers.ts";
import {
  asyncFailureQueue,
  bundlingOptions,
  functionLogGroup,
  LAMBDA_ARCHITECTURE,
  LAMBDA_RUNTIME,
  repoRoot,
} from "./nodejs-defaults.ts";

export interface PipelineFunctionProps {
  spec: FunctionSpec;
  config: FltsConfig;
  buckets: BucketMap;
  cluster: KafkaClusterRef;
  layers: NativeLayers;
  /** Extra environment (the trainer launch settings for train-dispatch). */
  environment?: Record<string, string>;
}

/** The environment every pipeline function gets (see infra/README.md). */
export function commonEnvironment(
  config: FltsConfig,
  buckets: BucketMap,
  cluster: KafkaClusterRef,
  service: string,
): Record<string, string> {
  return {
    ...bucketEnvironment(buckets),
    // The model types train-dispatch launches and evaluate waits for (the trainer backends' keys).
    EXPECTED_MODEL_TYPES: DISPATCHED_MODEL_TYPES.join(","),
    KAFKA_AUTH: "iam",
    MSK_CLUSTER_ARN: cluster.clusterArn,
    KAFKA_CLIENT_ID: service,
    FLTS_ENV: config.envName,
    POWERTOOLS_SERVICE_NAME: service,
    POWERTOOLS_METRICS_NAMESPACE: PIPELINE_NAMESPACE,
    LOG_LEVEL: config.envName === "prod" ? "INFO" : "DEBUG",
    NODE_OPTIONS: "--enable-source-maps",
  };
}

export class PipelineFunction extends Construct {
  readonly fn: nodejs.NodejsFunction;
  readonly spec: FunctionSpec;
  /** Async-invocation failures (S3-triggered functions only). */
  readonly failureQueue?: sqs.Queue;
  readonly eventSources: lambda.IEventSource[] = [];

  constructor(scope: Construct, id: string, props: PipelineFunctionProps) {
    super(scope, id);
    const { spec, config, buckets, cluster } = props;
    this.spec = spec;
    const root = repoRoot();
    const externals = spec.layers.flatMap(layerExternals);

    this.fn = new nodejs.NodejsFunction(this, "Fn", {
      functionName: `${config.prefix}-${spec.name}`,
      description: `FLTS ${spec.name} (${spec.trigger.kind} trigger)`,
      entry: path.join(root, spec.entry),
      handler: "handler",
      runtime: LAMBDA_RUNTIME,
      architecture: LAMBDA_ARCHITECTURE,
      memorySize: spec.memoryMb,
      timeout: Duration.seconds(spec.timeoutSeconds),
      // DuckDB spills and writes Parquet under /tmp.
      ...(spec.layers.includes("duckdb") ? { ephemeralStorageSize: Size.gibibytes(4) } : {}),
      projectRoot: root,
      depsLockFilePath: path.join(root, "package-lock.json"),
      bundling: bundlingOptions(externals),
      layers: spec.layers.map((l) => props.layers.layer(l)),
      environment: { ...commonEnvironment(config, buckets, cluster, spec.name), ...props.environment },
      vpc: cluster.vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      securityGroups: [cluster.securityGroup],
      tracing: lambda.Tracing.ACTIVE,
      loggingFormat: lambda.LoggingFormat.JSON,
      logGroup: functionLogGroup(this, "Logs", config.logRetentionDays),
    });

    grantBuckets(this.fn, buckets, spec.buckets);

    if (spec.trigger.kind === "kafka") {
      this.addKafkaTrigger(spec.trigger, props);
    } else if (spec.trigger.kind === "schedule") {
      this.addScheduleTrigger(spec.trigger, props);
    } else {
      this.failureQueue = this.addS3Trigger(spec.trigger, props);
    }

    acknowledge(this, [
      {
        id: "AwsSolutions-IAM4",
        reason:
          "AWS managed execution policies: basic logging, VPC ENIs, and AWSLambdaMSKExecutionRole which the MSK event-source mapping requires (added by ManagedKafkaEventSource).",
        findings: /service-role\/AWSLambda(Basic|VPCAccess|MSK)ExecutionRole$/,
      },
      {
        id: "AwsSolutions-IAM5",
        reason:
          "Object ARNs are scoped to the manifest's bucket prefix (`<bucket>/<prefix>*`); X-Ray PutTraceSegments has no resource-level permissions.",
        findings: /^Resource::(<.*\.Arn>\/.*\*|\*)$/,
      },
    ]);
  }

  private addKafkaTrigger(trigger: KafkaTrigger, props: PipelineFunctionProps): void {
    const { config, cluster, spec } = props;
    const source = new sources.ManagedKafkaEventSource({
      clusterArn: cluster.clusterArn,
      topic: trigger.topic,
      consumerGroupId: trigger.consumerGroup,
      batchSize: trigger.batchSize,
      startingPosition:
        trigger.startingPosition === "LATEST"
          ? lambda.StartingPosition.LATEST
          : lambda.StartingPosition.TRIM_HORIZON,
      // Provisioned mode: low-latency polling and the Kafka error-handling controls below.
      provisionedPollerConfig: {
        minimumPollers: config.msk.minPollers,
        maximumPollers: config.msk.maxPollers,
      },
      // maxAttempts counts the first try; after that the batch's records go to DLQ-<topic>.
      retryAttempts: Math.max(0, trigger.maxAttempts - 1),
      onFailure: new sources.KafkaDlq(dlqTopic(trigger.topic)),
      metricsConfig: { metrics: [lambda.MetricType.EVENT_COUNT, lambda.MetricType.ERROR_COUNT] },
    });
    this.fn.addEventSource(source);
    this.eventSources.push(source);
    grantKafka(this.fn, cluster.clusterArn, {
      consume: [{ topic: trigger.topic, group: trigger.consumerGroup }],
      // The handler publishes what it produces and rejects invalid messages to DLQ-<topic> itself;
      // the event-source mapping writes exhausted batches there with the same role.
      produce: [...spec.produces, dlqTopic(trigger.topic)],
    });
  }

  /** An EventBridge rule; a failed tick is not retried (the next tick does the same work). */
  private addScheduleTrigger(trigger: ScheduleTrigger, props: PipelineFunctionProps): void {
    const { config, cluster, spec } = props;
    const rule = new events.Rule(this, "Schedule", {
      ruleName: `${config.prefix}-${spec.name}-schedule`,
      schedule: events.Schedule.rate(Duration.minutes(trigger.everyMinutes)),
    });
    rule.addTarget(new eventTargets.LambdaFunction(this.fn, { retryAttempts: 0 }));
    if (spec.produces.length) grantKafka(this.fn, cluster.clusterArn, { produce: [...spec.produces] });
  }

  private addS3Trigger(trigger: S3Trigger, props: PipelineFunctionProps): sqs.Queue {
    const { buckets, cluster, spec } = props;
    const bucket = buckets[trigger.bucket];
    // S3 allows one prefix and one suffix per notification: one notification per suffix.
    for (const suffix of trigger.suffixes) {
      const filter: s3.NotificationKeyFilter = {
        suffix,
        ...(trigger.prefix ? { prefix: trigger.prefix } : {}),
      };
      const source = new sources.S3EventSourceV2(bucket, {
        events: [s3.EventType.OBJECT_CREATED],
        filters: [filter],
      });
      this.fn.addEventSource(source);
      this.eventSources.push(source);
    }
    // S3 invokes asynchronously: the manifest's attempts, then the event lands in the failure queue.
    const failures = asyncFailureQueue(
      this,
      this.fn,
      `${props.config.prefix}-${spec.name}-failures`,
      trigger.invoke,
    );
    if (spec.produces.length) {
      grantKafka(this.fn, cluster.clusterArn, { produce: [...spec.produces] });
    }
    return failures;
  }
}
