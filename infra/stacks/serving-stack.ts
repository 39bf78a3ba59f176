/**
 * The inference service: a Fargate service behind an internal ALB with a metrics sidecar, published
 * through an API Gateway HTTP API (HTTPS only, IAM-authorised routes) over a VPC link.
 */
import { CfnOutput, RemovalPolicy, Stack, type StackProps } from "aws-cdk-lib";
import type * as logs from "aws-cdk-lib/aws-logs";
import type { Construct } from "constructs";
import { TOPICS } from "../../functions/common/contracts.ts";
import { PUBLIC_ROUTES } from "../../functions/inference/routes.ts";
import { SERVICE } from "../../functions/manifest.ts";
import type { FltsConfig } from "../config.ts";
import type { BucketMap } from "../constructs/bucket-access.ts";
import { HttpApi } from "../constructs/http-api.ts";
import { INFERENCE_PORT, InferenceService } from "../constructs/inference-service.ts";
import type { KafkaClusterRef } from "../constructs/kafka-access.ts";
import { MetricsSidecar } from "../constructs/metrics-sidecar.ts";

export interface ServingStackProps extends StackProps {
  config: FltsConfig;
  buckets: BucketMap;
  cluster: KafkaClusterRef;
  /** Docker build context (repo-relative) and Dockerfile of the service. */
  image?: { directory: string; file: string };
}

export class ServingStack extends Stack {
  readonly inference: InferenceService;
  readonly http: HttpApi;

  constructor(scope: Construct, id: string, props: ServingStackProps) {
    super(scope, id, props);
    const { config, buckets, cluster } = props;
    const s = config.serving;
    const logging = {
      logRetention: config.logRetentionDays as logs.RetentionDays,
      removalPolicy: config.data.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    };

    this.inference = new InferenceService(this, "Inference", {
      prefix: config.prefix,
      kafka: cluster,
      promotionTopic: TOPICS.modelSelected,
      consumes: SERVICE.consumes,
      buckets,
      bucketGrants: SERVICE.buckets,
      environment: { FLTS_ENV: config.envName, CONSOLE_ENABLED: s.console ? "1" : "0" },
      cpu: s.cpu,
      memoryMiB: s.memoryMb,
      minTasks: s.minTasks,
      maxTasks: s.maxTasks,
      targetCpuPercent: s.targetCpuPercent,
      targetQueueDepth: s.targetQueueDepth,
      p95SloMs: s.p95SloMs,
      accessLogDays: config.data.accessLogDays,
      ...(props.image ? { image: props.image } : {}),
      ...logging,
    });
    const cwAgentImage: unknown = this.node.tryGetContext("cwAgentImage");
    new MetricsSidecar(this, "MetricsSidecar", {
      task: this.inference.task,
      port: INFERENCE_PORT,
      emfLogGroupName: `/flts/${config.envName}/inference-prometheus`,
      agentLogGroup: this.inference.logGroup,
      ...(cwAgentImage ? { image: String(cwAgentImage) } : {}),
      ...logging,
    });
    this.http = new HttpApi(this, "Http", {
      name: `${config.prefix}-inference`,
      description: "FLTS forecasts (SigV4-signed requests; execute-api:Invoke on the route)",
      vpc: cluster.vpc,
      listener: this.inference.alb.listener,
      routes: PUBLIC_ROUTES,
      throttleRatePerSecond: s.throttleRatePerSecond,
      throttleBurst: s.throttleBurst,
      ...logging,
    });
    this.inference.alb.allowFrom(this.http.vpcLinkSecurityGroup, "API Gateway VPC link");

    new CfnOutput(this, "ApiUrl", {
      value: this.http.api.apiEndpoint,
      description: "HTTPS endpoint (SigV4, service execute-api)",
    });
    new CfnOutput(this, "ApiId", { value: this.http.api.apiId });
  }
}
