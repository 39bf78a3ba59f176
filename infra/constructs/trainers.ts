/**
 * Trainer capacity, chosen per model type by context (`trainerBackends`, `gpu`):
 * - `lambda`: the Dockerfile.lambda image as a DockerImageFunction (short CPU jobs, 15 min max);
 * - `ecs`: the Dockerfile.ecs image as a Fargate task (long CPU jobs);
 * - `ecs-gpu`: the Dockerfile.gpu image on ECS with an EC2 GPU capacity provider (Fargate has no GPUs).
 * The launch settings are handed to train-dispatch as environment variables (infra/README.md).
 */
import path from "node:path";
import { Duration, Size, Stack } from "aws-cdk-lib";
import * as autoscaling from "aws-cdk-lib/aws-autoscaling";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import * as ecrAssets from "aws-cdk-lib/aws-ecr-assets";
import * as ecs from "aws-cdk-lib/aws-ecs";
import * as iam from "aws-cdk-lib/aws-iam";
import * as lambda from "aws-cdk-lib/aws-lambda";
import * as destinations from "aws-cdk-lib/aws-lambda-destinations";
import * as logs from "aws-cdk-lib/aws-logs";
import * as sqs from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { MODEL_TYPES, type ModelType } from "../../functions/common/contracts.ts";
import type { BucketGrant } from "../../functions/manifest.ts";
import type { FltsConfig, TrainerBackend } from "../config.ts";
import { acknowledge } from "../nag.ts";
import { type BucketMap, grantBuckets } from "./bucket-access.ts";
import { repoRoot } from "./nodejs-defaults.ts";

/** What a trainer reads and writes (the job spec sits at runs/<run_id>/job.json). */
export const TRAINER_BUCKET_GRANTS: readonly BucketGrant[] = [
  { bucket: "processed", prefix: "", access: "read" },
  { bucket: "artifacts", prefix: "runs/", access: "readwrite" },
];

export const TRAINER_CONTAINER_NAME = "trainer";

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
      this.lambdaFailures = new sqs.Queue(this, "LambdaFailures", {
        queueName: `${config.prefix}-trainer-failures`,
        encryption: sqs.QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
        retentionPeriod: Duration.days(14),
      });
      acknowledge(this.lambdaFailures, [
        {
          id: "AwsSolutions-SQS3",
          reason: "This queue is itself the failure destination of the trainer Lambda.",
        },
      ]);
      const fn = new lambda.DockerImageFunction(this, "Lambda", {
        functionName: `${config.prefix}-trainer`,
        description: "FLTS trainer (container image, short CPU jobs); the event is a TrainerJobSpec",
        code: lambda.DockerImageCode.fromImageAsset(context, asset("Dockerfile.lambda")),
        architecture: lambda.Architecture.X86_64,
        memorySize: t.lambdaMemoryMb,
        timeout: Duration.minutes(t.lambdaTimeoutMinutes),
        ephemeralStorageSize: Size.gibibytes(10),
        environment: { FLTS_ENV: config.envName, POWERTOOLS_SERVICE_NAME: "trainer" },
        tracing: lambda.Tracing.ACTIVE,
        loggingFormat: lambda.LoggingFormat.JSON,
        logGroup: new logs.LogGroup(this, "LambdaLogs", {
          retention: config.logRetentionDays as logs.RetentionDays,
        }),
      });
      // A failed job writes _FAILED itself; a crashed invocation is not retried (evaluate's deadline covers it).
      fn.configureAsyncInvoke({
        retryAttempts: 0,
        maxEventAge: Duration.hours(1),
        onFailure: new destinations.SqsDestination(this.lambdaFailures),
      });
      grantBuckets(fn, buckets, TRAINER_BUCKET_GRANTS);
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
        grantBuckets(td.taskRole, buckets, TRAINER_BUCKET_GRANTS);
        this.fargateTask = td;
      }

      if (used.has("ecs-gpu")) {
        const asg = new autoscaling.AutoScalingGroup(this, "GpuAsg", {
          vpc,
          vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
          instanceType: new ec2.InstanceType(t.gpu.instanceType),
          // SSM-parameter AMI (resolved by CloudFormation at deploy: no lookup at synth).
          machineImage: ecs.EcsOptimizedImage.amazonLinux2023(ecs.AmiHardwareType.GPU),
          minCapacity: t.gpu.minCapacity,
          maxCapacity: t.gpu.maxCapacity,
          requireImdsv2: true,
          blockDevices: [
            {
              deviceName: "/dev/xvda",
              volume: autoscaling.BlockDeviceVolume.ebs(200, {
                encrypted: true,
                volumeType: autoscaling.EbsDeviceVolumeType.GP3,
              }),
            },
          ],
        });
        const cp = new ecs.AsgCapacityProvider(this, "GpuCapacity", {
          capacityProviderName: `${config.prefix}-gpu`,
          autoScalingGroup: asg,
          enableManagedScaling: true,
          enableManagedTerminationProtection: false,
          targetCapacityPercent: 100,
        });
        this.cluster.addAsgCapacityProvider(cp);
        const td = new ecs.Ec2TaskDefinition(this, "GpuTask", {
          family: `${config.prefix}-trainer-gpu`,
          networkMode: ecs.NetworkMode.AWS_VPC,
        });
        td.addContainer(TRAINER_CONTAINER_NAME, {
          image: ecs.ContainerImage.fromAsset(context, asset("Dockerfile.gpu")),
          logging,
          gpuCount: 1,
          memoryReservationMiB: 12_288,
          environment: { FLTS_ENV: config.envName, NVIDIA_DRIVER_CAPABILITIES: "compute,utility" },
        });
        grantBuckets(td.taskRole, buckets, TRAINER_BUCKET_GRANTS);
        this.gpuTask = td;
        this.gpuCapacityProvider = cp;
        acknowledge(asg, [
          {
            id: "AwsSolutions-AS3",
            reason: "Scaling is managed by the ECS capacity provider; its events are in ECS and CloudWatch.",
          },
          {
            id: "AwsSolutions-IAM4",
            reason:
              "AWS managed policies for the ECS container instance and the drain hook Lambda, attached by aws-cdk-lib.",
            findings:
              /^Policy::arn:<AWS::Partition>:iam::aws:policy\/(service-role\/)?(AmazonEC2ContainerServiceforEC2Role|AWSLambdaBasicExecutionRole|AmazonSSMManagedInstanceCore)$/,
          },
          {
            id: "AwsSolutions-IAM5",
            reason:
              "Container-instance and drain-hook permissions written by aws-cdk-lib: ecs:Submit* for the ECS agent, actions without resource-level permissions (Resource *), and the group's own ARN with its generated id.",
            findings:
              /^(Action::ecs:Submit\*|Resource::\*|Resource::arn:<AWS::Partition>:autoscaling:.*:autoScalingGroup:\*:autoScalingGroupName\/<[A-Za-z0-9]+>)$/,
          },
          { id: "AwsSolutions-L1", reason: "The drain-hook Lambda's runtime is chosen by aws-cdk-lib." },
          {
            id: "AwsSolutions-SNS3",
            reason:
              "The drain lifecycle-hook topic is created by aws-cdk-lib; only the Auto Scaling service publishes to it.",
          },
        ]);
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
