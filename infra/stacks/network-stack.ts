/** The VPC every component runs in: private subnets with NAT egress, flow logs, an S3 gateway endpoint. */
import { CfnWaitConditionHandle, Stack, type StackProps } from "aws-cdk-lib";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import * as logs from "aws-cdk-lib/aws-logs";
import type { Construct } from "constructs";
import type { FltsConfig } from "../config.ts";

export interface NetworkStackProps extends StackProps {
  config: FltsConfig;
}

export class NetworkStack extends Stack {
  readonly vpc: ec2.IVpc;
  /** Attached to the MSK brokers and to every Kafka client; allows the IAM listener (9098) from itself. */
  readonly kafkaSecurityGroup: ec2.ISecurityGroup;
  readonly privateSubnets: ec2.SubnetSelection;

  constructor(scope: Construct, id: string, props: NetworkStackProps) {
    super(scope, id, props);
    const { config } = props;
    const imported = config.msk.network;
    if (imported) {
      this.vpc = ec2.Vpc.fromVpcAttributes(this, "Vpc", {
        vpcId: imported.vpcId,
        availabilityZones: imported.availabilityZones,
        privateSubnetIds: imported.privateSubnetIds,
      });
      this.kafkaSecurityGroup = ec2.SecurityGroup.fromSecurityGroupId(
        this,
        "KafkaSg",
        imported.kafkaSecurityGroupId,
        { mutable: false },
      );
      this.privateSubnets = { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS };
      // Everything is imported; CloudFormation still needs one resource in the template.
      new CfnWaitConditionHandle(this, "Imported");
      return;
    }

    const vpc = new ec2.Vpc(this, "Vpc", {
      ipAddresses: ec2.IpAddresses.cidr("10.40.0.0/16"),
      // Explicit zones: no availability-zone lookup at synth.
      availabilityZones: config.availabilityZones,
      natGateways: config.natGateways,
      subnetConfiguration: [
        { name: "public", subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
        { name: "private", subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 20 },
      ],
      restrictDefaultSecurityGroup: false,
    });
    const flowLogs = new logs.LogGroup(this, "FlowLogs", {
      retention: config.logRetentionDays as logs.RetentionDays,
    });
    vpc.addFlowLog("FlowLog", {
      destination: ec2.FlowLogDestination.toCloudWatchLogs(flowLogs),
      trafficType: ec2.FlowLogTrafficType.REJECT,
    });
    vpc.addGatewayEndpoint("S3", { service: ec2.GatewayVpcEndpointAwsService.S3 });
    this.vpc = vpc;

    const sg = new ec2.SecurityGroup(this, "KafkaSg", {
      vpc,
      description: "FLTS Kafka brokers and clients (IAM listener 9098)",
      allowAllOutbound: true,
    });
    sg.addIngressRule(sg, ec2.Port.tcp(9098), "MSK IAM listener from clients in this group");
    this.kafkaSecurityGroup = sg;
    this.privateSubnets = { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS };
  }
}
