/**
 * Context switches: GPU capacity, prod sizing, MSK provisioned / imported, and a manifest entry
 * added without any infra change. Bundling is skipped: these are template checks.
 */
import { App } from "aws-cdk-lib";
import { Match } from "aws-cdk-lib/assertions";
import * as sns from "aws-cdk-lib/aws-sns";
import { describe, expect, it } from "vitest";
import { TOPICS } from "../../functions/common/contracts.ts";
import { FUNCTIONS, type FunctionSpec } from "../../functions/manifest.ts";
import { loadConfig, parseBackends } from "../../infra/config.ts";
import { buildFlts } from "../../infra/flts.ts";
import { cdkJsonContext, resources, synthFlts } from "./synth.ts";

describe("GPU training path", () => {
  it("is absent unless enabled", () => {
    const s = synthFlts();
    try {
      const t = s.template(s.pipeline);
      t.resourceCountIs("AWS::AutoScaling::AutoScalingGroup", 0);
      t.resourceCountIs("AWS::ECS::CapacityProvider", 0);
    } finally {
      s.cleanup();
    }
  });

  it("adds GPU instances, a capacity provider and a GPU task definition with -c gpu=true", () => {
    const s = synthFlts({ context: { gpu: "true", gpuInstanceType: "g6.xlarge" } });
    try {
      const t = s.template(s.pipeline);
      t.hasResourceProperties("AWS::EC2::LaunchTemplate", {
        LaunchTemplateData: Match.objectLike({
          InstanceType: "g6.xlarge",
          MetadataOptions: { HttpTokens: "required" },
        }),
      });
      t.hasResourceProperties("AWS::ECS::CapacityProvider", {
        AutoScalingGroupProvider: Match.objectLike({
          ManagedScaling: Match.objectLike({ Status: "ENABLED" }),
        }),
      });
      t.hasResourceProperties("AWS::ECS::TaskDefinition", {
        RequiresCompatibilities: ["EC2"],
        ContainerDefinitions: [
          Match.objectLike({ Name: "trainer", ResourceRequirements: [{ Type: "GPU", Value: "1" }] }),
        ],
      });
      const dispatch = FUNCTIONS.find((f) => f.launchesTrainers) as FunctionSpec;
      const fn = resources(t, "AWS::Lambda::Function").find(
        ([, r]) => r.Properties.FunctionName === `${s.config.prefix}-${dispatch.name}`,
      );
      expect(fn).toBeDefined();
      const env =
        (fn?.[1].Properties.Environment as { Variables: Record<string, unknown> } | undefined)?.Variables ??
        {};
      expect(env.TRAINER_BACKENDS).toBe(
        "GRU=ecs,LSTM=ecs,PROPHET=lambda,LINEAR=lambda,GBDT=lambda,ENSEMBLE=lambda",
      );
      expect(env.ECS_CAPACITY_PROVIDER_GRU).toBeDefined();
      expect(env.ECS_TASK_DEFINITION_GRU).toBeDefined();
      expect(env.ECS_CAPACITY_PROVIDER_PROPHET).toBeUndefined();
      expect(s.nag().errors).toEqual([]);
    } finally {
      s.cleanup();
    }
  });

  it("refuses a GPU backend when GPU capacity is off", () => {
    expect(() => loadConfig((k) => ({ trainerBackends: "GRU=ecs-gpu" })[k])).toThrow(/gpu=true/);
    expect(() => parseBackends("GRU=cuda")).toThrow(/backend/);
  });
});

describe("environments", () => {
  it("prod: more zones and NAT gateways, retained buckets, more tasks", () => {
    const s = synthFlts({ context: { env: "prod" } });
    try {
      expect(s.config.prefix).toBe("flts-prod");
      s.template(s.network).resourceCountIs("AWS::EC2::NatGateway", s.config.natGateways);
      s.template(s.network).resourceCountIs("AWS::EC2::Subnet", s.config.maxAzs * 2);
      const buckets = Object.values(s.template(s.data).findResources("AWS::S3::Bucket"));
      for (const b of buckets) expect(b.DeletionPolicy).toBe("Retain");
      s.template(s.serving).hasResourceProperties("AWS::ApplicationAutoScaling::ScalableTarget", {
        MinCapacity: 2,
      });
      expect(s.nag().errors).toEqual([]);
    } finally {
      s.cleanup();
    }
  });

  it("rejects incomplete or unknown context", () => {
    expect(() => loadConfig((k) => ({ env: "staging" })[k], {})).toThrow(/dev or prod/);
    expect(() => loadConfig((k) => ({ msk: "import" })[k], {})).toThrow(/mskClusterArn/);
    expect(() =>
      loadConfig((k) => ({ mskClusterArn: "arn:aws:kafka:eu-west-1:123456789012:cluster/a/b" })[k], {}),
    ).toThrow(/vpcId/);
    expect(() => loadConfig((k) => ({ gpu: "maybe" })[k], {})).toThrow(/true or false/);
  });

  it("needs no account: stacks carry only a region (context, CDK_DEFAULT_REGION or us-east-1)", () => {
    const cfg = loadConfig((k) => ({ region: "eu-west-1" })[k], {});
    expect(cfg.region).toBe("eu-west-1");
    expect(cfg.availabilityZones).toEqual(["eu-west-1a", "eu-west-1b"]);
    expect(cfg.account).toBeUndefined();
    expect(loadConfig(() => undefined, {}).region).toBe("us-east-1");
  });
});

describe("MSK modes", () => {
  it("serverless (default): an IAM-auth serverless cluster and the topics custom resource", () => {
    const s = synthFlts();
    try {
      const t = s.template(s.messaging);
      t.hasResourceProperties("AWS::MSK::ServerlessCluster", {
        ClientAuthentication: { Sasl: { Iam: { Enabled: true } } },
      });
      t.hasResourceProperties("Custom::FltsKafkaTopics", {
        Topics: Match.arrayWith([TOPICS.trainingData, `DLQ-${TOPICS.trainingData}`]),
      });
    } finally {
      s.cleanup();
    }
  });

  it("provisioned: TLS in transit, IAM auth, broker logs", () => {
    const s = synthFlts({ context: { msk: "provisioned" } });
    try {
      s.template(s.messaging).hasResourceProperties("AWS::MSK::Cluster", {
        ClientAuthentication: Match.objectLike({ Sasl: { Iam: { Enabled: true } } }),
        EncryptionInfo: { EncryptionInTransit: { ClientBroker: "TLS", InCluster: true } },
        LoggingInfo: Match.anyValue(),
      });
      expect(s.nag().errors).toEqual([]);
    } finally {
      s.cleanup();
    }
  });

  it("import: no cluster is created and the event sources use the given ARN", () => {
    const arn =
      "arn:aws:kafka:eu-west-1:123456789012:cluster/existing/0f0f0f0f-1111-2222-3333-444444444444-7";
    const s = synthFlts({
      context: {
        region: "eu-west-1",
        mskClusterArn: arn,
        vpcId: "vpc-0123456789abcdef0",
        availabilityZones: "eu-west-1a,eu-west-1b",
        privateSubnetIds: "subnet-0aaaaaaaaaaaaaaa1,subnet-0bbbbbbbbbbbbbbb2",
        kafkaSecurityGroupId: "sg-0123456789abcdef0",
      },
    });
    try {
      s.template(s.messaging).resourceCountIs("AWS::MSK::ServerlessCluster", 0);
      s.template(s.messaging).resourceCountIs("AWS::MSK::Cluster", 0);
      s.template(s.network).resourceCountIs("AWS::EC2::VPC", 0);
      const kafkaFns = FUNCTIONS.filter((f) => f.trigger.kind === "kafka");
      const mappings = resources(s.template(s.pipeline), "AWS::Lambda::EventSourceMapping");
      expect(mappings).toHaveLength(kafkaFns.length);
      for (const [, m] of mappings) expect(m.Properties.EventSourceArn).toBe(arn);
      expect(JSON.stringify(s.template(s.pipeline).toJSON())).toContain(
        "arn:aws:kafka:eu-west-1:123456789012:topic/existing/0f0f0f0f-1111-2222-3333-444444444444-7/training-data",
      );
    } finally {
      s.cleanup();
    }
  });
});

describe("the manifest drives the pipeline", () => {
  it("a new manifest entry gets its Lambda and trigger with no infra change", () => {
    const base = FUNCTIONS.find((f) => f.trigger.kind === "kafka") as FunctionSpec;
    const extra: FunctionSpec = {
      ...base,
      name: "extra-stage",
      trigger: {
        kind: "kafka",
        topic: TOPICS.modelSelected,
        consumerGroup: "flts-extra-stage",
        batchSize: 5,
        startingPosition: "LATEST",
        maxAttempts: 2,
      },
    };
    const app = new App({ context: { ...cdkJsonContext(), "aws:cdk:bundling-stacks": [] } });
    const stacks = buildFlts(app, { nag: false, functions: [...FUNCTIONS, extra] });
    expect(stacks.pipeline.functions.has("extra-stage")).toBe(true);
    const assembly = app.synth();
    const t = assembly.getStackArtifact(stacks.pipeline.artifactId).template as {
      Resources: Record<string, { Type: string; Properties: Record<string, unknown> }>;
    };
    const fn = Object.entries(t.Resources).find(
      ([, r]) => r.Type === "AWS::Lambda::Function" && r.Properties.FunctionName === "flts-dev-extra-stage",
    );
    expect(fn).toBeDefined();
    const esm = Object.values(t.Resources).find(
      (r) =>
        r.Type === "AWS::Lambda::EventSourceMapping" &&
        JSON.stringify(r.Properties.FunctionName).includes(fn?.[0] ?? "?"),
    );
    expect(esm?.Properties).toMatchObject({
      Topics: [TOPICS.modelSelected],
      BatchSize: 5,
      StartingPosition: "LATEST",
      MaximumRetryAttempts: 1,
    });
  });
});

describe("cdk-nag in the app", () => {
  it("fails synthesis on an unacknowledged finding", () => {
    const app = new App({ context: { ...cdkJsonContext(), "aws:cdk:bundling-stacks": [] } });
    const stacks = buildFlts(app);
    // A topic without TLS enforcement or encryption: AwsSolutions-SNS2/SNS3.
    new sns.Topic(stacks.observability, "Unchecked");
    expect(() => app.synth()).toThrow(/AwsSolutions-SNS3/);
  });
});
