/**
 * Trainer capacity, chosen per model type by context (`trainerBackends`, `gpu`):
 * - `lambda`: the Dockerfile.lambda image as a DockerImageFunction (short CPU jobs, 15 min max);
 * - `ecs`: the Dockerfile.ecs image as a Fargate task (long CPU jobs);
 * - `ecs-gpu`: the Dockerfile.gpu image on ECS with an EC2 GPU capacity provider (Fargate has no GPUs).
 * The launch settings are handed to train-dispatch as environment variables (infra/README.md).
 */
import path from "node:path";
import { Duration, Size, Stack } from "aws-cdk-lib";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import * as ecrAssets from "aws-cdk-lib/aws-ecr-assets";
import * as ecs from "aws-cdk-lib/aws-ecs";
import * as iam from "aws-cdk-lib/aws-iam";
import * as lambda from "aws-cdk-lib/aws-lambda";
import * as logs from "aws-cdk-lib/aws-logs";
import type * as sqs from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { MODEL_TYPES, type ModelType } from "../../functions/common/contracts.ts";
import { TRAINER } from "../../functions/manifest.ts";
import type { FltsConfig, TrainerBackend } from "../config.ts";
import { acknowledge } from "../nag.ts";
import { type BucketMap, grantBuckets } from "./bucket-access.ts";
import { asyncFailureQueue, repoRoot } from "./nodejs-defaults.ts";
import { addGpuCapacity, TRAINER_CONTAINER_NAME } from "./trainer-gpu.ts";

/** Files the trainer images never need in their build context. */
const TRAIN_CONTEXT_EXCLUDE = [
  ".venv",
  "**/__pycache__",
  "**/*.pyc",
  ".pytest_cache",
  "tests",
  "*.egg-info",
  ".whl",
  "build",
  "dist",
];

export interface TrainersProps {
  config: FltsConfig;
  buckets: BucketMap;
  vpc: ec2.IVpc;
}

export class Trainers extends Construct {
  readonly backends: Record<ModelType, TrainerBackend>;
  readonly lambdaFunction?: lambda.DockerImageFunction;
  readonly lambdaFailures?: sqs.Queue;
  readonly cluster?: ecs.Cluster;
  readonly fargateTask?: ecs.FargateTaskDefinition;
  readonly gpuTask?: ecs.Ec2TaskDefinition;
  readonly gpuCapacityProvider?: ecs.AsgCapacityProvider;
  readonly securityGroup?: ec2.SecurityGroup;
  private readonly subnetIds: string[];

  constructor(scope: Construct, id: string, props: TrainersProps) {
    super(scope, id);
    const { config, buckets, vpc } = props;
    const t = config.trainers;
    this.backends = { ...t.backends };
    const used = new Set(Object.values(this.backends));
    const context = path.join(repoRoot(), "functions", "train");
    const asset = (file: string) => ({
      file,
      exclude: TRAIN_CONTEXT_EXCLUDE,
      platform: ecrAssets.Platform.LINUX_AMD64,
    });
    this.subnetIds = vpc.selectSubnets({ subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS }).subnetIds;

    if (used.has("lambda")) {
      const fn = new lambda.DockerImageFunction(this, "Lambda", {
        functionName: `${config.prefix}-trainer`,
        description: "FLTS trainer (container image, short CPU jobs); the event is a TrainerJobSpec",
        code: lambda.DockerImageCode.fromImageAsset(context, asset("Dockerfile.lambda")),
        architecture: lambda.Architecture.X86_64,
        memorySize: t.lambdaMemoryMb,
        timeout: Duration.minutes(t.lambdaTimeoutMinutes),
        ephemeralStorageSize: Size.gibibytes(10),
        environment: { FLTS_ENV: config.envName, POWERTOOLS_SERVICE_NAME: TRAINER.name },
        tracing: lambda.Tracing.ACTIVE,
        loggingFormat: lambda.LoggingFormat.JSON,
        logGroup: new logs.LogGroup(this, "LambdaLogs", {
          retention: config.logRetentionDays as logs.RetentionDays,
        }),
      });
      const failures = `${config.prefix}-trainer-failures`;
      this.lambdaFailures = asyncFailureQueue(this, fn, failures, TRAINER.invoke, "LambdaFailures");
      grantBuckets(fn, buckets, TRAINER.buckets);
      this.lambdaFunction = fn;
    }

    if (used.has("ecs") || used.has("ecs-gpu")) {
      this.cluster = new ecs.Cluster(this, "Cluster", {
        vpc,
        clusterName: `${config.prefix}-training`,
        containerInsightsV2: ecs.ContainerInsights.ENABLED,
      });
      this.securityGroup = new ec2.SecurityGroup(this, "TaskSg", {
        vpc,
        description: "FLTS trainer tasks (egress only: S3, ECR, CloudWatch)",
        allowAllOutbound: true,
      });
      const logGroup = new logs.LogGroup(this, "TaskLogs", {
        retention: config.logRetentionDays as logs.RetentionDays,
      });
      const logging = ecs.LogDrivers.awsLogs({ streamPrefix: "trainer", logGroup });

      if (used.has("ecs")) {
        const td = new ecs.FargateTaskDefinition(this, "FargateTask", {
          family: `${config.prefix}-trainer-cpu`,
          cpu: t.fargateCpu,
          memoryLimitMiB: t.fargateMemoryMb,
          ephemeralStorageGiB: 50,
          runtimePlatform: {
            cpuArchitecture: ecs.CpuArchitecture.X86_64,
            operatingSystemFamily: ecs.OperatingSystemFamily.LINUX,
          },
        });
        td.addContainer(TRAINER_CONTAINER_NAME, {
          image: ecs.ContainerImage.fromAsset(context, asset("Dockerfile.ecs")),
          logging,
          environment: { FLTS_ENV: config.envName },
        });
        grantBuckets(td.taskRole, buckets, TRAINER.buckets);
        this.fargateTask = td;
      }

      if (used.has("ecs-gpu")) {
        const gpu = addGpuCapacity(this, {
          config,
          vpc,
          cluster: this.cluster,
          image: ecs.ContainerImage.fromAsset(context, asset("Dockerfile.gpu")),
          logging,
        });
        grantBuckets(gpu.task.taskRole, buckets, TRAINER.buckets);
        this.gpuTask = gpu.task;
        this.gpuCapacityProvider = gpu.capacityProvider;
      }
      acknowledge(this, [
        {
          id: "AwsSolutions-ECS2",
          reason:
            "Only non-secret settings are passed as environment variables; the job spec arrives at run time.",
        },
        {
          id: "AwsSolutions-IAM5",
          reason:
            "ecr:GetAuthorizationToken (task execution role, added by aws-cdk-lib) has no resource-level permissions.",
          findings: /^Resource::\*$/,
        },
      ]);
    }
    if (this.lambdaFunction) {
      acknowledge(this.lambdaFunction, [
        {
          id: "AwsSolutions-IAM4",
          reason: "AWSLambdaBasicExecutionRole is the minimal policy for the function's CloudWatch Logs.",
          findings: /service-role\/AWSLambdaBasicExecutionRole$/,
        },
        {
          id: "AwsSolutions-IAM5",
          reason: "X-Ray PutTraceSegments/PutTelemetryRecords have no resource-level permissions.",
          findings: /^Resource::\*$/,
        },
      ]);
    }
  }

  /** The environment train-dispatch reads (functions/train-dispatch/settings.ts and backends.ts). */
  dispatchEnvironment(): Record<string, string> {
    const env: Record<string, string> = {
      // The dispatcher's backends are `lambda` and `ecs`; GPU types are `ecs` with a GPU capacity provider.
      TRAINER_BACKENDS: MODEL_TYPES.map(
        (type) => `${type}=${this.backends[type] === "lambda" ? "lambda" : "ecs"}`,
      ).join(","),
    };
    if (this.lambdaFunction) env.TRAINER_LAMBDA_FUNCTION = this.lambdaFunction.functionName;
    if (this.cluster && this.securityGroup) {
      env.ECS_CLUSTER = this.cluster.clusterArn;
      env.ECS_SUBNETS = this.subnetIds.join(",");
      env.ECS_SECURITY_GROUPS = this.securityGroup.securityGroupId;
      env.ECS_CONTAINER_NAME = TRAINER_CONTAINER_NAME;
      env.ECS_ASSIGN_PUBLIC_IP = "DISABLED";
      if (this.fargateTask) env.ECS_TASK_DEFINITION = this.fargateTask.taskDefinitionArn;
      for (const type of MODEL_TYPES) {
        if (this.backends[type] === "ecs-gpu" && this.gpuTask && this.gpuCapacityProvider) {
          env[`ECS_TASK_DEFINITION_${type}`] = this.gpuTask.taskDefinitionArn;
          env[`ECS_CAPACITY_PROVIDER_${type}`] = this.gpuCapacityProvider.capacityProviderName;
        }
      }
    }
    return env;
  }

  /** Lets `grantee` start trainers on every configured backend, and nothing else. */
  grantLaunch(grantee: iam.IGrantable): void {
    const add = (s: iam.PolicyStatement) => grantee.grantPrincipal.addToPrincipalPolicy(s);
    if (this.lambdaFunction) {
      add(
        new iam.PolicyStatement({
          sid: "InvokeTrainer",
          actions: ["lambda:InvokeFunction"],
          resources: [this.lambdaFunction.functionArn],
        }),
      );
    }
    const tasks = [this.fargateTask, this.gpuTask].filter((td): td is ecs.TaskDefinition => td !== undefined);
    if (this.cluster && tasks.length) {
      add(
        new iam.PolicyStatement({
          sid: "RunTrainerTasks",
          actions: ["ecs:RunTask"],
          resources: tasks.map((td) => td.taskDefinitionArn),
          conditions: { ArnEquals: { "ecs:cluster": this.cluster.clusterArn } },
        }),
      );
      const stack = Stack.of(this);
      if (Construct.isConstruct(grantee.grantPrincipal)) {
        acknowledge(grantee.grantPrincipal, [
          {
            id: "AwsSolutions-IAM5",
            reason:
              "ecs:TagResource on tasks of the training cluster only, and only while RunTask creates them (task ids are not known in advance).",
            findings: /:ecs:.*:task\/.*\/\*$/,
          },
        ]);
      }
      add(
        new iam.PolicyStatement({
          sid: "TagTrainerTasks",
          actions: ["ecs:TagResource"],
          resources: [
            stack.formatArn({
              service: "ecs",
              resource: "task",
              resourceName: `${this.cluster.clusterName}/*`,
            }),
          ],
          conditions: { StringEquals: { "ecs:CreateAction": "RunTask" } },
        }),
      );
      add(
        new iam.PolicyStatement({
          sid: "PassTrainerRoles",
          actions: ["iam:PassRole"],
          resources: tasks.flatMap((td) => [td.taskRole.roleArn, td.obtainExecutionRole().roleArn]),
          conditions: { StringEquals: { "iam:PassedToService": "ecs-tasks.amazonaws.com" } },
        }),
      );
    }
  }
}
