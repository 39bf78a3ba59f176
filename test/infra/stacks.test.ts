/** Data, serving and observability stacks of the dev synthesis (bundling skipped: templates only). */
import { Match } from "aws-cdk-lib/assertions";
import type * as s3 from "aws-cdk-lib/aws-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PUBLIC_ROUTES } from "../../functions/inference/routes.ts";
import { type BucketRole, FUNCTIONS } from "../../functions/manifest.ts";
import {
  EVENTS_NAMESPACE,
  LIVE_ERROR_RATIO,
  LOG_EVENT_METRICS,
  PIPELINE_NAMESPACE,
} from "../../infra/metrics.ts";
import { allStatements, asArray, resources, type Synthesized, synthFlts } from "./synth.ts";

let s: Synthesized;
beforeAll(() => {
  s = synthFlts();
}, 600_000);
afterAll(() => s?.cleanup());

const ROLES: BucketRole[] = ["raw", "processed", "artifacts", "promotion", "inferenceLogs"];
const bucketId = (role: BucketRole) =>
  s.data.getLogicalId(s.data.buckets[role].node.defaultChild as s3.CfnBucket);

describe("data", () => {
  it("creates the five buckets of the design plus the access-log bucket", () => {
    expect(resources(s.template(s.data), "AWS::S3::Bucket")).toHaveLength(ROLES.length + 1);
  });

  it.each(ROLES)("%s: encrypted, public access blocked, access-logged", (role) => {
    const t = s.template(s.data);
    const bucket = t.toJSON().Resources[bucketId(role)];
    expect(
      bucket.Properties.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault,
    ).toEqual({
      SSEAlgorithm: "AES256",
    });
    expect(bucket.Properties.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    expect(bucket.Properties.LoggingConfiguration?.DestinationBucketName).toBeDefined();
  });

  it.each(ROLES)("%s: bucket policy denies every request without TLS", (role) => {
    s.template(s.data).hasResourceProperties("AWS::S3::BucketPolicy", {
      Bucket: { Ref: bucketId(role) },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: "Deny",
            Action: "s3:*",
            Principal: { AWS: "*" },
            Condition: { Bool: { "aws:SecureTransport": "false" } },
          }),
        ]),
      },
    });
  });

  it("expires inference logs and ages old runs without deleting them", () => {
    const t = s.template(s.data).toJSON().Resources;
    const logs = t[bucketId("inferenceLogs")].Properties.LifecycleConfiguration.Rules;
    expect(logs.some((r: { ExpirationInDays?: number }) => (r.ExpirationInDays ?? 0) > 0)).toBe(true);
    const runs = t[bucketId("artifacts")].Properties.LifecycleConfiguration.Rules.find(
      (r: { Prefix?: string }) => r.Prefix === "runs/",
    );
    expect(runs.Transitions.length).toBeGreaterThan(0);
    expect(runs.ExpirationInDays).toBeUndefined();
    expect(t[bucketId("promotion")].Properties.VersioningConfiguration).toEqual({ Status: "Enabled" });
  });

  it("grants no wildcard action on a data bucket, in any stack", () => {
    const templates = [s.network, s.data, s.messaging, s.pipeline, s.serving, s.observability].map((st) =>
      s.template(st),
    );
    const ids = ROLES.map(bucketId);
    const offending = allStatements(templates).filter(({ statement }) => {
      if (statement.Effect !== "Allow") return false;
      const resourceText = JSON.stringify(statement.Resource ?? "");
      const onData = ids.some((id) => resourceText.includes(id)) || resourceText === '"*"';
      return (
        onData && asArray(statement.Action).some((a) => a === "*" || (a.startsWith("s3:") && a.includes("*")))
      );
    });
    expect(offending.map((o) => JSON.stringify(o.statement))).toEqual([]);
  });
});

describe("serving", () => {
  it("runs the inference image as a Fargate service on 8080 behind an internal ALB", () => {
    const t = s.template(s.serving);
    t.hasResourceProperties("AWS::ECS::Service", { LaunchType: "FARGATE" });
    t.hasResourceProperties("AWS::ECS::TaskDefinition", {
      RequiresCompatibilities: ["FARGATE"],
      ContainerDefinitions: Match.arrayWith([
        Match.objectLike({ Name: "inference", PortMappings: [Match.objectLike({ ContainerPort: 8080 })] }),
      ]),
    });
    t.hasResourceProperties("AWS::ElasticLoadBalancingV2::LoadBalancer", { Scheme: "internal" });
    t.hasResourceProperties("AWS::ElasticLoadBalancingV2::TargetGroup", {
      HealthCheckPath: "/healthz",
      Port: 8080,
    });
  });

  it("runs one service process per vCPU of the task", () => {
    const t = s.template(s.serving);
    const vcpus = s.config.serving.cpu / 1024;
    t.hasResourceProperties("AWS::ECS::TaskDefinition", {
      Cpu: String(s.config.serving.cpu),
      ContainerDefinitions: Match.arrayWith([
        Match.objectLike({
          Name: "inference",
          Environment: Match.arrayWith([{ Name: "WORKERS", Value: String(Math.max(1, Math.floor(vcpus))) }]),
        }),
      ]),
    });
  });

  it("lets the service read promotions and runs, write inference logs and use only its own consumer groups", () => {
    const t = s.template(s.serving);
    const statements = allStatements([t])
      .filter(({ id }) => id.includes("TaskTaskRole"))
      .map((x) => x.statement);
    const text = JSON.stringify(statements);
    expect(text).toContain("/runs/*");
    expect(text).toContain("flts-inference-*");
    const writes = statements.filter((st) => asArray(st.Action).includes("s3:PutObject"));
    expect(JSON.stringify(writes)).toContain(bucketId("inferenceLogs"));
    for (const role of ["raw", "processed", "promotion", "artifacts"] as BucketRole[]) {
      expect(JSON.stringify(writes)).not.toContain(bucketId(role));
    }
    const kafka = statements.filter((st) => asArray(st.Action).some((a) => a.startsWith("kafka-cluster:")));
    expect(JSON.stringify(kafka)).not.toContain("WriteData");
    const deletes = kafka.filter((st) => asArray(st.Action).includes("kafka-cluster:DeleteGroup"));
    expect(deletes).toHaveLength(1);
    expect(JSON.stringify(deletes[0]?.Resource)).toContain("/flts-inference-*");
  });

  it("publishes an HTTP API over a VPC link to the ALB listener", () => {
    const t = s.template(s.serving);
    t.hasResourceProperties("AWS::ApiGatewayV2::Api", { ProtocolType: "HTTP" });
    t.resourceCountIs("AWS::ApiGatewayV2::VpcLink", 1);
    t.hasResourceProperties("AWS::ApiGatewayV2::Integration", {
      ConnectionType: "VPC_LINK",
      IntegrationType: "HTTP_PROXY",
      IntegrationUri: { Ref: Match.stringLikeRegexp("AlbHttp") },
    });
    t.hasResourceProperties("AWS::ApiGatewayV2::Stage", {
      StageName: "$default",
      AccessLogSettings: Match.objectLike({ DestinationArn: Match.anyValue() }),
      DefaultRouteSettings: Match.objectLike({ ThrottlingRateLimit: s.config.serving.throttleRatePerSecond }),
    });
  });

  it("requires IAM authorisation on the prediction route (and on every route)", () => {
    const t = s.template(s.serving);
    t.hasResourceProperties("AWS::ApiGatewayV2::Route", {
      RouteKey: "POST /predict",
      AuthorizationType: "AWS_IAM",
    });
    const routes = resources(t, "AWS::ApiGatewayV2::Route");
    for (const [, r] of routes)
      expect(r.Properties.AuthorizationType, String(r.Properties.RouteKey)).toBe("AWS_IAM");
  });

  it("routes exactly the public routes of the service's route table", () => {
    const keys = resources(s.template(s.serving), "AWS::ApiGatewayV2::Route").map(([, r]) =>
      String(r.Properties.RouteKey),
    );
    expect(keys.sort()).toEqual(PUBLIC_ROUTES.map((r) => `${r.method} ${r.path}`).sort());
    expect(keys).not.toContain("GET /metrics");
    expect(keys).toContain("POST /predict/batch");
  });

  it("autoscales on CPU, on queue depth and on p95 latency", () => {
    const t = s.template(s.serving);
    t.hasResourceProperties("AWS::ApplicationAutoScaling::ScalableTarget", {
      MinCapacity: s.config.serving.minTasks,
      MaxCapacity: s.config.serving.maxTasks,
      ScalableDimension: "ecs:service:DesiredCount",
    });
    t.hasResourceProperties("AWS::ApplicationAutoScaling::ScalingPolicy", {
      PolicyType: "TargetTrackingScaling",
      TargetTrackingScalingPolicyConfiguration: Match.objectLike({
        PredefinedMetricSpecification: { PredefinedMetricType: "ECSServiceAverageCPUUtilization" },
      }),
    });
    t.hasResourceProperties("AWS::ApplicationAutoScaling::ScalingPolicy", {
      PolicyType: "TargetTrackingScaling",
      TargetTrackingScalingPolicyConfiguration: Match.objectLike({
        CustomizedMetricSpecification: Match.objectLike({
          MetricName: "inference_queue_len",
          Namespace: "FLTS/Inference",
        }),
      }),
    });
    t.hasResourceProperties("AWS::ApplicationAutoScaling::ScalingPolicy", { PolicyType: "StepScaling" });
    t.hasResourceProperties("AWS::CloudWatch::Alarm", {
      MetricName: "TargetResponseTime",
      ExtendedStatistic: "p95",
      Threshold: s.config.serving.p95SloMs / 1000,
    });
  });
});

describe("observability", () => {
  const body = () =>
    JSON.stringify(
      s.template(s.observability).toJSON().Resources[
        s.observability.getLogicalId(s.observability.dashboard.node.defaultChild as never)
      ].Properties.DashboardBody,
    );

  it("has one dashboard with widgets for every stage, training, promotions and inference", () => {
    s.template(s.observability).resourceCountIs("AWS::CloudWatch::Dashboard", 1);
    const text = body();
    for (const f of FUNCTIONS) expect(text, f.name).toContain(`${f.name}: invocations / errors`);
    for (const f of FUNCTIONS.filter((f) => f.trigger.kind === "kafka"))
      expect(text).toContain(`${f.name}: Kafka offset lag`);
    for (const needle of [
      "OffsetLag",
      "Training runs by status",
      "TrainingRunsSucceeded",
      "TrainingRunsFailed",
      "Promotions",
      "Inference requests",
      "p50",
      "p95",
      "p99",
      "4xx",
      "5xx",
      "429",
      "inference_queue_len",
      "Current model",
      "model_info",
      "Live error ratio by identifier",
    ]) {
      expect(text, needle).toContain(needle);
    }
  });

  it("counts training runs and promotions from every stage's log events", () => {
    const filters = resources(s.template(s.observability), "AWS::Logs::MetricFilter");
    expect(filters).toHaveLength(FUNCTIONS.length * Object.keys(LOG_EVENT_METRICS).length);
    for (const [metricName, event] of Object.entries(LOG_EVENT_METRICS)) {
      s.template(s.observability).hasResourceProperties("AWS::Logs::MetricFilter", {
        FilterPattern: `{ $.message = "${event}" }`,
        MetricTransformations: [
          Match.objectLike({ MetricName: metricName, MetricNamespace: "FLTS/PipelineEvents" }),
        ],
      });
    }
  });

  it("alarms on DLQs, stage errors, missing promotions, p95 over the SLO and the 5xx rate", () => {
    const alarms = resources(s.template(s.observability), "AWS::CloudWatch::Alarm").map(([, a]) =>
      String(a.Properties.AlarmName),
    );
    const p = s.config.prefix;
    for (const f of FUNCTIONS) {
      expect(alarms).toContain(`${p}-${f.name}-errors`);
      expect(alarms).toContain(`${p}-${f.name}-dlq`);
      if (f.trigger.kind === "s3") expect(alarms).toContain(`${p}-${f.name}-failure-queue`);
      if (f.trigger.kind === "kafka") expect(alarms).toContain(`${p}-DLQ-${f.trigger.topic}-not-empty`);
    }
    for (const name of [
      "no-promotion",
      "inference-p95-over-slo",
      "inference-5xx-rate",
      "inference-target-5xx-rate",
    ]) {
      expect(alarms).toContain(`${p}-${name}`);
    }
    s.template(s.observability).hasResourceProperties("AWS::CloudWatch::Alarm", {
      AlarmName: `${p}-no-promotion`,
      AlarmActions: Match.anyValue(),
    });
  });

  it("draws the monitor's live error ratio per identifier and target, and alarms on a drift event", () => {
    const text = body();
    expect(text).toContain(`SEARCH('{${PIPELINE_NAMESPACE},service,identifier,target} MetricName=`);
    expect(text).toContain(LIVE_ERROR_RATIO);
    s.template(s.observability).hasResourceProperties("AWS::CloudWatch::Alarm", {
      AlarmName: `${s.config.prefix}-model-drift`,
      Metrics: [
        Match.objectLike({
          MetricStat: Match.objectLike({
            Metric: { MetricName: "DriftEvents", Namespace: EVENTS_NAMESPACE },
            Stat: "Sum",
          }),
        }),
      ],
      Threshold: 0,
      ComparisonOperator: "GreaterThanThreshold",
      AlarmActions: Match.anyValue(),
    });
    expect(LOG_EVENT_METRICS.DriftEvents).toBe("model_drift_detected");
  });
});

describe("cdk-nag", () => {
  it("reports no unacknowledged AwsSolutions error", () => {
    expect(s.nag().errors).toEqual([]);
  });
});
