/**
 * GPU trainer capacity (backend `ecs-gpu`): an Auto Scaling group of ECS GPU instances as a capacity
 * provider of the training cluster, and the task definition of the Dockerfile.gpu image on it.
 * Created in the Trainers construct's own scope, so its resources keep their ids there.
 */
import * as autoscaling from "aws-cdk-lib/aws-autoscaling";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import * as ecs from "aws-cdk-lib/aws-ecs";
import type { Construct } from "constructs";
import type { FltsConfig } from "../config.ts";
import { acknowledge } from "../nag.ts";

export const TRAINER_CONTAINER_NAME = "trainer";

export interface GpuCapacityProps {
  config: FltsConfig;
  vpc: ec2.IVpc;
  cluster: ecs.Cluster;
  image: ecs.ContainerImage;
  logging: ecs.LogDriver;
}

export function addGpuCapacity(
  scope: Construct,
  { config, vpc, cluster, image, logging }: GpuCapacityProps,
): { task: ecs.Ec2TaskDefinition; capacityProvider: ecs.AsgCapacityProvider } {
  const gpu = config.trainers.gpu;
  const asg = new autoscaling.AutoScalingGroup(scope, "GpuAsg", {
    vpc,
    vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
    instanceType: new ec2.InstanceType(gpu.instanceType),
    // SSM-parameter AMI (resolved by CloudFormation at deploy: no lookup at synth).
    machineImage: ecs.EcsOptimizedImage.amazonLinux2023(ecs.AmiHardwareType.GPU),
    minCapacity: gpu.minCapacity,
    maxCapacity: gpu.maxCapacity,
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
  const cp = new ecs.AsgCapacityProvider(scope, "GpuCapacity", {
    capacityProviderName: `${config.prefix}-gpu`,
    autoScalingGroup: asg,
    enableManagedScaling: true,
    enableManagedTerminationProtection: false,
    targetCapacityPercent: 100,
  });
  cluster.addAsgCapacityProvider(cp);
  const td = new ecs.Ec2TaskDefinition(scope, "GpuTask", {
    family: `${config.prefix}-trainer-gpu`,
    networkMode: ecs.NetworkMode.AWS_VPC,
  });
  td.addContainer(TRAINER_CONTAINER_NAME, {
    image,
    logging,
    gpuCount: 1,
    memoryReservationMiB: 12_288,
    environment: { FLTS_ENV: config.envName, NVIDIA_DRIVER_CAPABILITIES: "compute,utility" },
  });
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
  return { task: td, capacityProvider: cp };
}
