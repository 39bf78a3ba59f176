/**
 * An internal Application Load Balancer on port 80 in the private subnets, access-logged to its own
 * bucket. Its security group admits nothing and reaches nothing until told (`allowFrom`, `reach`).
 */
import { Duration, RemovalPolicy } from "aws-cdk-lib";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import * as elbv2 from "aws-cdk-lib/aws-elasticloadbalancingv2";
import * as s3 from "aws-cdk-lib/aws-s3";
import { Construct } from "constructs";
import { acknowledge } from "../nag.ts";

export interface InternalAlbProps {
  readonly vpc: ec2.IVpc;
  /** Access logs are kept this long. @default 90 */
  readonly accessLogDays?: number;
  /** Of the access-log bucket. @default RemovalPolicy.DESTROY */
  readonly removalPolicy?: RemovalPolicy;
  /** @default 30 */
  readonly idleTimeoutSeconds?: number;
}

export const ALB_PORT = 80;

export class InternalAlb extends Construct {
  readonly loadBalancer: elbv2.ApplicationLoadBalancer;
  readonly listener: elbv2.ApplicationListener;
  readonly securityGroup: ec2.SecurityGroup;

  constructor(scope: Construct, id: string, props: InternalAlbProps) {
    super(scope, id);
    this.securityGroup = new ec2.SecurityGroup(this, "Sg", {
      vpc: props.vpc,
      description: "FLTS internal ALB",
      allowAllOutbound: false,
    });
    const logs = new s3.Bucket(this, "Logs", {
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [{ expiration: Duration.days(props.accessLogDays ?? 90) }],
      removalPolicy: props.removalPolicy ?? RemovalPolicy.DESTROY,
    });
    acknowledge(logs, [
      {
        id: "AwsSolutions-S1",
        reason: "Load balancer access-log bucket: logging its own access would only log the log delivery.",
      },
    ]);
    this.loadBalancer = new elbv2.ApplicationLoadBalancer(this, "Alb", {
      vpc: props.vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      internetFacing: false,
      securityGroup: this.securityGroup,
      dropInvalidHeaderFields: true,
      idleTimeout: Duration.seconds(props.idleTimeoutSeconds ?? 30),
    });
    this.loadBalancer.logAccessLogs(logs, "alb");
    this.listener = this.loadBalancer.addListener("Http", {
      port: ALB_PORT,
      protocol: elbv2.ApplicationProtocol.HTTP,
      open: false,
    });
  }

  /** Lets `peer` (e.g. an HTTP API's VPC link) reach the listener. */
  allowFrom(peer: ec2.SecurityGroup, description: string): void {
    this.securityGroup.addIngressRule(peer, ec2.Port.tcp(ALB_PORT), description);
    peer.addEgressRule(this.securityGroup, ec2.Port.tcp(ALB_PORT), "to the internal ALB");
  }

  /** Lets the ALB reach `targets` on `port`. */
  reach(targets: ec2.SecurityGroup, port: number, description: string): void {
    this.securityGroup.addEgressRule(targets, ec2.Port.tcp(port), `to the ${description}`);
    targets.addIngressRule(this.securityGroup, ec2.Port.tcp(port), "from the internal ALB");
  }
}
