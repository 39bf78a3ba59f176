/**
 * The inference service (functions/inference) as a Fargate service behind an internal ALB, with its
 * bucket and Kafka grants and its autoscaling: CPU, queue depth (a gauge the metrics sidecar
 * publishes) and steps out when the p95 latency passes the SLO.
 */
import path from "node:path";
import { Duration, RemovalPolicy } from "aws-cdk-lib";
import * as appscaling from "aws-cdk-lib/aws-applicationautoscaling";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import * as ecrAssets from "aws-cdk-lib/aws-ecr-assets";
import * as ecs from "aws-cdk-lib/aws-ecs";
import * as elbv2 from "aws-cdk-lib/aws-elasticloadbalancingv2";
import * as logs from "aws-cdk-lib/aws-logs";
import { Construct } from "constructs";
import type { BucketGrant } from "../../functions/manifest.ts";
import { INFERENCE_METRICS, INFERENCE_NAMESPACE, INFERENCE_SERVICE } from "../metrics.ts";
import { acknowledge } from "../nag.ts";
import { type BucketMap, bucketEnvironment, grantBuckets } from "./bucket-access.ts";
import { InternalAlb } from "./internal-alb.ts";
import { grantKafka, type KafkaClusterRef } from "./kafka-access.ts";
import { repoRoot } from "./nodejs-defaults.ts";

export const INFERENCE_PORT = 8080;
export const INFERENCE_CONTAINER = "inference";
/** Consumer groups of the service are `flts-inference-<host>-<pid>`: one per task, so every task hears every promotion. */
export const INFERENCE_GROUP_PREFIX = "flts-inference-";

/** Files the service image never needs from the repository root. */
const SERVICE_CONTEXT_EXCLUDE = [
  "node_modules",
  "**/node_modules",
  ".git",
  "cdk.out",
  "**/cdk.out",
  ".flts",
  ".venv",
  "**/.venv",
  "functions/train",
  "functions/preprocess",
  "functions/train-dispatch",
  "functions/train-complete",
  "functions/evaluate",
  "infra",
  "local",
  "layers",
  "docs",
  ".ci",
  "test",
  "bench-results",
  ".whl",
  "**/__pycache__",
];

export interface InferenceServiceProps {
  /** Cluster, task family and service are named `<prefix>-serving` / `<prefix>-inference`. */
  readonly prefix: string;
  /** The MSK cluster the service hears promotions on; its VPC holds the service. */
  readonly kafka: KafkaClusterRef;
  /** The topic of promotions (the service's MODEL_SELECTED_TOPIC). */
  readonly promotionTopic: string;
  /** Topics the task role may read, each with per-task groups `flts-inference-*` (the manifest's service entry). */
  readonly consumes: readonly string[];
  readonly buckets: BucketMap;
  /** What the task role may read and write (the manifest's service entry). */
  readonly bucketGrants: readonly BucketGrant[];
  /** Extra container environment (e.g. FLTS_ENV, CONSOLE_ENABLED). @default {} */
  readonly environment?: Record<string, string>;
  /** Task CPU units; one service process runs per 1024. @default 1024 */
  readonly cpu?: number;
  /** @default 2048 */
  readonly memoryMiB?: number;
  /** Also the desired count at deployment. @default 1 */
  readonly minTasks?: number;
  /** @default 4 */
  readonly maxTasks?: number;
  /** @default 60 */
  readonly targetCpuPercent?: number;
  /** Windows queued or running per task that autoscaling holds. @default 16 */
  readonly targetQueueDepth?: number;
  /** p95 latency SLO: a step out above it, a step in below half of it. @default 250 */
  readonly p95SloMs?: number;
  /** Docker build context (repo-relative) and Dockerfile. @default { directory: ".", file: "functions/inference/Dockerfile" } */
  readonly image?: { directory: string; file: string };
  /** Of the service's log group. @default logs.RetentionDays.TWO_WEEKS */
  readonly logRetention?: logs.RetentionDays;
  /** Of the log group and the ALB access-log bucket. @default RemovalPolicy.DESTROY */
  readonly removalPolicy?: RemovalPolicy;
  /** ALB access logs are kept this long. @default 90 */
  readonly accessLogDays?: number;
}

export class InferenceService extends Construct {
  readonly task: ecs.FargateTaskDefinition;
  readonly service: ecs.FargateService;
  readonly alb: InternalAlb;
  readonly targetGroup: elbv2.ApplicationTargetGroup;
  readonly logGroup: logs.LogGroup;
  readonly scaling: ecs.ScalableTaskCount;

  constructor(scope: Construct, id: string, props: InferenceServiceProps) {
    super(scope, id);
    const { kafka, prefix } = props;
    const cpu = props.cpu ?? 1024;
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.DESTROY;

    this.task = new ecs.FargateTaskDefinition(this, "Task", {
      family: `${prefix}-inference`,
      cpu,
      memoryLimitMiB: props.memoryMiB ?? 2048,
      runtimePlatform: {
        cpuArchitecture: ecs.CpuArchitecture.X86_64,
        operatingSystemFamily: ecs.OperatingSystemFamily.LINUX,
      },
    });
    this.logGroup = new logs.LogGroup(this, "Logs", {
      retention: props.logRetention ?? logs.RetentionDays.TWO_WEEKS,
      removalPolicy,
    });
    const image = props.image ?? { directory: ".", file: "functions/inference/Dockerfile" };
    this.task.addContainer(INFERENCE_CONTAINER, {
      image: ecs.ContainerImage.fromAsset(path.join(repoRoot(), image.directory), {
        file: image.file,
        exclude: SERVICE_CONTEXT_EXCLUDE,
        platform: ecrAssets.Platform.LINUX_AMD64,
      }),
      portMappings: [{ containerPort: INFERENCE_PORT, name: "http" }],
      logging: ecs.LogDrivers.awsLogs({ streamPrefix: "inference", logGroup: this.logGroup }),
      environment: {
        ...bucketEnvironment(props.buckets),
        KAFKA_AUTH: "iam",
        MSK_CLUSTER_ARN: kafka.clusterArn,
        KAFKA_CLIENT_ID: INFERENCE_SERVICE,
        MODEL_SELECTED_TOPIC: props.promotionTopic,
        PORT: String(INFERENCE_PORT),
        // One service process per vCPU of the task (cluster.ts); availableParallelism() would see the host's.
        WORKERS: String(Math.max(1, Math.floor(cpu / 1024))),
        POWERTOOLS_SERVICE_NAME: INFERENCE_SERVICE,
        POWERTOOLS_METRICS_NAMESPACE: INFERENCE_NAMESPACE,
        ONNXRUNTIME_NODE_INSTALL_CUDA: "skip",
        ...props.environment,
      },
      stopTimeout: Duration.seconds(30),
      // Same probe as the Dockerfile's HEALTHCHECK (ECS ignores the image's own).
      healthCheck: {
        command: [
          "CMD",
          "node",
          "-e",
          `fetch('http://127.0.0.1:${INFERENCE_PORT}/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))`,
        ],
        interval: Duration.seconds(10),
        timeout: Duration.seconds(3),
        startPeriod: Duration.seconds(60),
        retries: 3,
      },
    });
    grantBuckets(this.task.taskRole, props.buckets, props.bucketGrants);
    grantKafka(this.task.taskRole, kafka.clusterArn, {
      consumeGroupPrefixes: props.consumes.map((topic) => ({ topic, groupPrefix: INFERENCE_GROUP_PREFIX })),
    });
    acknowledge(this.task, [
      {
        id: "AwsSolutions-ECS2",
        reason: "Only non-secret settings (bucket names, cluster ARN, tuning) are environment variables.",
      },
      {
        id: "AwsSolutions-IAM5",
        reason:
          "ecr:GetAuthorizationToken (task execution role, added by aws-cdk-lib) has no resource-level permissions.",
        findings: /^Resource::\*$/,
      },
    ]);

    // Network path: internal ALB (80) → tasks (8080); the HTTP API's VPC link reaches the ALB.
    this.alb = new InternalAlb(this, "Alb", {
      vpc: kafka.vpc,
      removalPolicy,
      ...(props.accessLogDays !== undefined ? { accessLogDays: props.accessLogDays } : {}),
    });
    const serviceSg = new ec2.SecurityGroup(this, "ServiceSg", {
      vpc: kafka.vpc,
      description: "FLTS inference tasks",
      allowAllOutbound: true,
    });
    this.alb.reach(serviceSg, INFERENCE_PORT, "inference tasks");
    // Kafka (model-selected) from the tasks: the rule lives here so the network stack never
    // references serving resources.
    new ec2.CfnSecurityGroupIngress(this, "KafkaFromService", {
      groupId: kafka.securityGroup.securityGroupId,
      sourceSecurityGroupId: serviceSg.securityGroupId,
      ipProtocol: "tcp",
      fromPort: 9098,
      toPort: 9098,
      description: "MSK IAM listener from the inference tasks",
    });

    const minTasks = props.minTasks ?? 1;
    this.service = new ecs.FargateService(this, "Service", {
      cluster: new ecs.Cluster(this, "Cluster", {
        vpc: kafka.vpc,
        clusterName: `${prefix}-serving`,
        containerInsightsV2: ecs.ContainerInsights.ENABLED,
      }),
      serviceName: `${prefix}-inference`,
      taskDefinition: this.task,
      desiredCount: minTasks,
      minHealthyPercent: 100,
      maxHealthyPercent: 200,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      securityGroups: [serviceSg],
      circuitBreaker: { enable: true, rollback: true },
      healthCheckGracePeriod: Duration.seconds(60),
    });
    this.targetGroup = this.alb.listener.addTargets("Inference", {
      port: INFERENCE_PORT,
      protocol: elbv2.ApplicationProtocol.HTTP,
      targets: [
        this.service.loadBalancerTarget({
          containerName: INFERENCE_CONTAINER,
          containerPort: INFERENCE_PORT,
        }),
      ],
      // Liveness, not readiness: /readyz is 503 until the first promotion, which must not kill tasks.
      healthCheck: { path: "/healthz", healthyHttpCodes: "200", interval: Duration.seconds(15) },
      deregistrationDelay: Duration.seconds(15),
    });
    this.scaling = this.service.autoScaleTaskCount({
      minCapacity: minTasks,
      maxCapacity: props.maxTasks ?? 4,
    });
    this.addScaling(props);
  }

  private addScaling(props: InferenceServiceProps): void {
    const cooldowns = { scaleInCooldown: Duration.seconds(120), scaleOutCooldown: Duration.seconds(30) };
    this.scaling.scaleOnCpuUtilization("Cpu", {
      targetUtilizationPercent: props.targetCpuPercent ?? 60,
      ...cooldowns,
    });
    this.scaling.scaleToTrackCustomMetric("QueueDepth", {
      metric: new cloudwatch.Metric({
        namespace: INFERENCE_NAMESPACE,
        metricName: INFERENCE_METRICS.queueDepth.name,
        dimensionsMap: { service: INFERENCE_SERVICE },
        statistic: "Average",
        period: Duration.minutes(1),
      }),
      targetValue: props.targetQueueDepth ?? 16,
      ...cooldowns,
    });
    const sloSeconds = (props.p95SloMs ?? 250) / 1000;
    this.scaling.scaleOnMetric("P95Latency", {
      metric: this.targetGroup.metrics.targetResponseTime({ statistic: "p95", period: Duration.minutes(1) }),
      adjustmentType: appscaling.AdjustmentType.CHANGE_IN_CAPACITY,
      scalingSteps: [
        { upper: sloSeconds * 0.5, change: -1 },
        { lower: sloSeconds, change: +1 },
        { lower: sloSeconds * 2, change: +3 },
      ],
      cooldown: Duration.seconds(60),
      evaluationPeriods: 2,
    });
  }
}
