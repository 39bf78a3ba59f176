/**
 * The inference service: a Fargate service behind an internal ALB, published through an API Gateway
 * HTTP API (HTTPS only) over a VPC link. Every route requires IAM (SigV4) authorisation. Autoscaling
 * tracks CPU and queue depth and steps out when the p95 latency passes the SLO.
 */
import path from "node:path";
import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from "aws-cdk-lib";
import * as apigwv2 from "aws-cdk-lib/aws-apigatewayv2";
import * as authorizers from "aws-cdk-lib/aws-apigatewayv2-authorizers";
import * as integrations from "aws-cdk-lib/aws-apigatewayv2-integrations";
import * as appscaling from "aws-cdk-lib/aws-applicationautoscaling";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import * as ecrAssets from "aws-cdk-lib/aws-ecr-assets";
import * as ecs from "aws-cdk-lib/aws-ecs";
import * as elbv2 from "aws-cdk-lib/aws-elasticloadbalancingv2";
import * as logs from "aws-cdk-lib/aws-logs";
import * as s3 from "aws-cdk-lib/aws-s3";
import type { Construct } from "constructs";
import { TOPICS } from "../../functions/common/contracts.ts";
import type { BucketGrant } from "../../functions/manifest.ts";
import type { FltsConfig } from "../config.ts";
import { type BucketMap, bucketEnvironment, grantBuckets } from "../constructs/bucket-access.ts";
import { grantKafka, type KafkaClusterRef } from "../constructs/kafka-access.ts";
import { repoRoot } from "../constructs/nodejs-defaults.ts";
import { INFERENCE_METRICS, INFERENCE_NAMESPACE, INFERENCE_SERVICE } from "../metrics.ts";
import { acknowledge } from "../nag.ts";

export interface ServingStackProps extends StackProps {
  config: FltsConfig;
  buckets: BucketMap;
  cluster: KafkaClusterRef;
  /** Docker build context (repo-relative) and Dockerfile of the service. */
  image?: { directory: string; file: string };
}

export const INFERENCE_PORT = 8080;
export const INFERENCE_CONTAINER = "inference";
/** Consumer groups of the service are `flts-inference-<host>-<pid>`: one per task, so every task hears every promotion. */
export const INFERENCE_GROUP_PREFIX = "flts-inference-";
/** Routes through the API, each with IAM authorisation. `/metrics` stays internal (scraped by the sidecar). */
export const API_ROUTES: { path: string; methods: apigwv2.HttpMethod[] }[] = [
  { path: "/predict", methods: [apigwv2.HttpMethod.POST] },
  { path: "/predict/{proxy+}", methods: [apigwv2.HttpMethod.POST] },
  { path: "/models/current", methods: [apigwv2.HttpMethod.GET] },
  { path: "/healthz", methods: [apigwv2.HttpMethod.GET] },
  { path: "/readyz", methods: [apigwv2.HttpMethod.GET] },
];

export const INFERENCE_BUCKET_GRANTS: readonly BucketGrant[] = [
  { bucket: "promotion", prefix: "", access: "read" },
  { bucket: "artifacts", prefix: "runs/", access: "read" },
  { bucket: "inferenceLogs", prefix: "", access: "write" },
];

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

export class ServingStack extends Stack {
  readonly service: ecs.FargateService;
  readonly loadBalancer: elbv2.ApplicationLoadBalancer;
  readonly targetGroup: elbv2.ApplicationTargetGroup;
  readonly api: apigwv2.HttpApi;
  readonly logGroup: logs.LogGroup;
  readonly scaling: ecs.ScalableTaskCount;

  constructor(scope: Construct, id: string, props: ServingStackProps) {
    super(scope, id, props);
    const { config, buckets, cluster } = props;
    const s = config.serving;
    const vpc = cluster.vpc;
    const privateSubnets = { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS };

    const ecsCluster = new ecs.Cluster(this, "Cluster", {
      vpc,
      clusterName: `${config.prefix}-serving`,
      containerInsightsV2: ecs.ContainerInsights.ENABLED,
    });

    const task = new ecs.FargateTaskDefinition(this, "Task", {
      family: `${config.prefix}-inference`,
      cpu: s.cpu,
      memoryLimitMiB: s.memoryMb,
      runtimePlatform: {
        cpuArchitecture: ecs.CpuArchitecture.X86_64,
        operatingSystemFamily: ecs.OperatingSystemFamily.LINUX,
      },
    });
    this.logGroup = new logs.LogGroup(this, "Logs", {
      retention: config.logRetentionDays as logs.RetentionDays,
      removalPolicy: config.data.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    const image = props.image ?? { directory: ".", file: "functions/inference/Dockerfile" };
    task.addContainer(INFERENCE_CONTAINER, {
      image: ecs.ContainerImage.fromAsset(path.join(repoRoot(), image.directory), {
        file: image.file,
        exclude: SERVICE_CONTEXT_EXCLUDE,
        platform: ecrAssets.Platform.LINUX_AMD64,
      }),
      portMappings: [{ containerPort: INFERENCE_PORT, name: "http" }],
      logging: ecs.LogDrivers.awsLogs({ streamPrefix: "inference", logGroup: this.logGroup }),
      environment: {
        ...bucketEnvironment(buckets),
        KAFKA_AUTH: "iam",
        MSK_CLUSTER_ARN: cluster.clusterArn,
        KAFKA_CLIENT_ID: INFERENCE_SERVICE,
        MODEL_SELECTED_TOPIC: TOPICS.modelSelected,
        PORT: String(INFERENCE_PORT),
        // One service process per vCPU of the task (cluster.ts); availableParallelism() would see the host's.
        WORKERS: String(Math.max(1, Math.floor(s.cpu / 1024))),
        FLTS_ENV: config.envName,
        POWERTOOLS_SERVICE_NAME: INFERENCE_SERVICE,
        POWERTOOLS_METRICS_NAMESPACE: INFERENCE_NAMESPACE,
        ONNXRUNTIME_NODE_INSTALL_CUDA: "skip",
        CONSOLE_ENABLED: s.console ? "1" : "0",
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
    grantBuckets(task.taskRole, buckets, INFERENCE_BUCKET_GRANTS);
    grantKafka(task.taskRole, cluster.clusterArn, {
      consumeGroupPrefixes: [{ topic: TOPICS.modelSelected, groupPrefix: INFERENCE_GROUP_PREFIX }],
    });
    this.addMetricsSidecar(task, config);

    // Network path: API Gateway VPC link → internal ALB (80) → tasks (8080).
    const vpcLinkSg = new ec2.SecurityGroup(this, "VpcLinkSg", {
      vpc,
      description: "FLTS API Gateway VPC link",
      allowAllOutbound: false,
    });
    const albSg = new ec2.SecurityGroup(this, "AlbSg", {
      vpc,
      description: "FLTS internal ALB",
      allowAllOutbound: false,
    });
    const serviceSg = new ec2.SecurityGroup(this, "ServiceSg", {
      vpc,
      description: "FLTS inference tasks",
      allowAllOutbound: true,
    });
    albSg.addIngressRule(vpcLinkSg, ec2.Port.tcp(80), "API Gateway VPC link");
    vpcLinkSg.addEgressRule(albSg, ec2.Port.tcp(80), "to the internal ALB");
    albSg.addEgressRule(serviceSg, ec2.Port.tcp(INFERENCE_PORT), "to the inference tasks");
    serviceSg.addIngressRule(albSg, ec2.Port.tcp(INFERENCE_PORT), "from the internal ALB");
    // Kafka (model-selected) from the tasks: the rule lives in this stack so the network stack
    // never references serving resources.
    new ec2.CfnSecurityGroupIngress(this, "KafkaFromService", {
      groupId: cluster.securityGroup.securityGroupId,
      sourceSecurityGroupId: serviceSg.securityGroupId,
      ipProtocol: "tcp",
      fromPort: 9098,
      toPort: 9098,
      description: "MSK IAM listener from the inference tasks",
    });

    const albLogs = new s3.Bucket(this, "AlbLogs", {
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [{ expiration: Duration.days(config.data.accessLogDays) }],
      removalPolicy: config.data.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    acknowledge(albLogs, [
      {
        id: "AwsSolutions-S1",
        reason: "Load balancer access-log bucket: logging its own access would only log the log delivery.",
      },
    ]);

    this.loadBalancer = new elbv2.ApplicationLoadBalancer(this, "Alb", {
      vpc,
      vpcSubnets: privateSubnets,
      internetFacing: false,
      securityGroup: albSg,
      dropInvalidHeaderFields: true,
      idleTimeout: Duration.seconds(30),
    });
    this.loadBalancer.logAccessLogs(albLogs, "alb");
    const listener = this.loadBalancer.addListener("Http", {
      port: 80,
      protocol: elbv2.ApplicationProtocol.HTTP,
      open: false,
    });

    this.service = new ecs.FargateService(this, "Service", {
      cluster: ecsCluster,
      serviceName: `${config.prefix}-inference`,
      taskDefinition: task,
      desiredCount: s.minTasks,
      minHealthyPercent: 100,
      maxHealthyPercent: 200,
      vpcSubnets: privateSubnets,
      securityGroups: [serviceSg],
      circuitBreaker: { enable: true, rollback: true },
      healthCheckGracePeriod: Duration.seconds(60),
    });
    this.targetGroup = listener.addTargets("Inference", {
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

    // Autoscaling: CPU, queue depth (sidecar-published gauge) and p95 latency over the SLO.
    this.scaling = this.service.autoScaleTaskCount({ minCapacity: s.minTasks, maxCapacity: s.maxTasks });
    this.scaling.scaleOnCpuUtilization("Cpu", {
      targetUtilizationPercent: s.targetCpuPercent,
      scaleInCooldown: Duration.seconds(120),
      scaleOutCooldown: Duration.seconds(30),
    });
    this.scaling.scaleToTrackCustomMetric("QueueDepth", {
      metric: new cloudwatch.Metric({
        namespace: INFERENCE_NAMESPACE,
        metricName: INFERENCE_METRICS.queueDepth,
        dimensionsMap: { service: INFERENCE_SERVICE },
        statistic: "Average",
        period: Duration.minutes(1),
      }),
      targetValue: s.targetQueueDepth,
      scaleInCooldown: Duration.seconds(120),
      scaleOutCooldown: Duration.seconds(30),
    });
    const sloSeconds = s.p95SloMs / 1000;
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

    // API Gateway HTTP API (execute-api endpoints are HTTPS only) → VPC link → ALB.
    const vpcLink = new apigwv2.VpcLink(this, "VpcLink", {
      vpc,
      subnets: privateSubnets,
      securityGroups: [vpcLinkSg],
      vpcLinkName: `${config.prefix}-inference`,
    });
    const integration = new integrations.HttpAlbIntegration("Inference", listener, { vpcLink });
    const iamAuth = new authorizers.HttpIamAuthorizer();
    this.api = new apigwv2.HttpApi(this, "Api", {
      apiName: `${config.prefix}-inference`,
      description: "FLTS forecasts (SigV4-signed requests; execute-api:Invoke on the route)",
      defaultAuthorizer: iamAuth,
      createDefaultStage: true,
    });
    for (const route of API_ROUTES) {
      this.api.addRoutes({ path: route.path, methods: route.methods, integration, authorizer: iamAuth });
    }
    const accessLogs = new logs.LogGroup(this, "ApiAccessLogs", {
      retention: config.logRetentionDays as logs.RetentionDays,
      removalPolicy: config.data.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    const stage = this.api.defaultStage?.node.defaultChild as apigwv2.CfnStage;
    stage.accessLogSettings = {
      destinationArn: accessLogs.logGroupArn,
      format: JSON.stringify({
        requestId: "$context.requestId",
        ip: "$context.identity.sourceIp",
        caller: "$context.identity.caller",
        user: "$context.identity.user",
        requestTime: "$context.requestTime",
        routeKey: "$context.routeKey",
        status: "$context.status",
        responseLength: "$context.responseLength",
        integrationLatency: "$context.integrationLatency",
        latency: "$context.responseLatency",
        error: "$context.error.message",
        integrationError: "$context.integrationErrorMessage",
      }),
    };
    stage.defaultRouteSettings = {
      throttlingRateLimit: s.throttleRatePerSecond,
      throttlingBurstLimit: s.throttleBurst,
      detailedMetricsEnabled: true,
    };
    new CfnOutput(this, "ApiUrl", {
      value: this.api.apiEndpoint,
      description: "HTTPS endpoint (SigV4, service execute-api)",
    });
    new CfnOutput(this, "ApiId", { value: this.api.apiId });

    acknowledge(task, [
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
  }

  /**
   * CloudWatch agent sidecar: scrapes the service's Prometheus `/metrics` over localhost and
   * publishes the gauges and counters the dashboard and autoscaling read as EMF (namespace
   * FLTS/Inference, dimension `service`), so the service needs no CloudWatch code.
   */
  private addMetricsSidecar(task: ecs.FargateTaskDefinition, config: FltsConfig): void {
    const emfLogs = new logs.LogGroup(this, "PrometheusEmf", {
      logGroupName: `/flts/${config.envName}/inference-prometheus`,
      retention: config.logRetentionDays as logs.RetentionDays,
      removalPolicy: config.data.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    const prometheus = [
      "global:",
      "  scrape_interval: 15s",
      "  scrape_timeout: 10s",
      "scrape_configs:",
      `  - job_name: ${INFERENCE_SERVICE}`,
      "    metrics_path: /metrics",
      "    static_configs:",
      `      - targets: ["localhost:${INFERENCE_PORT}"]`,
      "        labels:",
      `          service: ${INFERENCE_SERVICE}`,
    ].join("\n");
    const declaration = (dimensions: string[][], selectors: string[]) => ({
      source_labels: ["job"],
      label_matcher: `^${INFERENCE_SERVICE}$`,
      dimensions,
      metric_selectors: selectors.map((m) => `^${m}$`),
    });
    const agentConfig = {
      logs: {
        metrics_collected: {
          prometheus: {
            log_group_name: emfLogs.logGroupName,
            prometheus_config_path: "env:PROMETHEUS_CONFIG_CONTENT",
            emf_processor: {
              metric_declaration_dedup: true,
              metric_namespace: INFERENCE_NAMESPACE,
              metric_declaration: [
                declaration([["service"]], [INFERENCE_METRICS.queueDepth, INFERENCE_METRICS.modelSwaps]),
                declaration([["service", "status"]], [INFERENCE_METRICS.requests]),
                declaration([["service", "model_type", "run_id"]], [INFERENCE_METRICS.modelInfo]),
              ],
            },
          },
        },
        force_flush_interval: 5,
      },
    };
    task.addContainer("cloudwatch-agent", {
      image: ecs.ContainerImage.fromRegistry(
        String(this.node.tryGetContext("cwAgentImage") ?? "amazon/cloudwatch-agent:latest"),
      ),
      essential: false,
      memoryReservationMiB: 128,
      environment: {
        PROMETHEUS_CONFIG_CONTENT: prometheus,
        CW_CONFIG_CONTENT: JSON.stringify(agentConfig),
      },
      logging: ecs.LogDrivers.awsLogs({ streamPrefix: "cwagent", logGroup: this.logGroup }),
    });
    emfLogs.grantWrite(task.taskRole);
  }
}
