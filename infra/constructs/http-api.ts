/**
 * An API Gateway HTTP API (execute-api endpoints are HTTPS only) in front of an internal ALB over a
 * VPC link. Every route requires IAM (SigV4) authorisation; the routes are the service's public
 * ones in its route table (functions/inference/routes.ts).
 */
import { RemovalPolicy } from "aws-cdk-lib";
import * as apigwv2 from "aws-cdk-lib/aws-apigatewayv2";
import * as authorizers from "aws-cdk-lib/aws-apigatewayv2-authorizers";
import * as integrations from "aws-cdk-lib/aws-apigatewayv2-integrations";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import type * as elbv2 from "aws-cdk-lib/aws-elasticloadbalancingv2";
import * as logs from "aws-cdk-lib/aws-logs";
import { Construct } from "constructs";
import type { Route } from "../../functions/inference/routes.ts";

export interface HttpApiProps {
  /** API and VPC link name. */
  readonly name: string;
  readonly description: string;
  readonly vpc: ec2.IVpc;
  /** The ALB listener the VPC link forwards to. */
  readonly listener: elbv2.IApplicationListener;
  /** The routes API Gateway forwards; any other path is API Gateway's own 404. */
  readonly routes: readonly Route[];
  /** Steady-state requests per second across the API. @default 100 */
  readonly throttleRatePerSecond?: number;
  /** @default 200 */
  readonly throttleBurst?: number;
  /** Of the access-log group. @default logs.RetentionDays.TWO_WEEKS */
  readonly logRetention?: logs.RetentionDays;
  /** Of the access-log group. @default RemovalPolicy.DESTROY */
  readonly removalPolicy?: RemovalPolicy;
}

/** One JSON line per request in the access log. */
const ACCESS_LOG_FORMAT = {
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
};

export class HttpApi extends Construct {
  readonly api: apigwv2.HttpApi;
  readonly accessLogs: logs.LogGroup;
  /** The VPC link's; the ALB's side must admit it (it allows no egress until told). */
  readonly vpcLinkSecurityGroup: ec2.SecurityGroup;

  constructor(scope: Construct, id: string, props: HttpApiProps) {
    super(scope, id);
    const privateSubnets = { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS };
    this.vpcLinkSecurityGroup = new ec2.SecurityGroup(this, "VpcLinkSg", {
      vpc: props.vpc,
      description: "FLTS API Gateway VPC link",
      allowAllOutbound: false,
    });
    const vpcLink = new apigwv2.VpcLink(this, "VpcLink", {
      vpc: props.vpc,
      subnets: privateSubnets,
      securityGroups: [this.vpcLinkSecurityGroup],
      vpcLinkName: props.name,
    });
    const integration = new integrations.HttpAlbIntegration("Alb", props.listener, { vpcLink });
    const iamAuth = new authorizers.HttpIamAuthorizer();
    this.api = new apigwv2.HttpApi(this, "Api", {
      apiName: props.name,
      description: props.description,
      defaultAuthorizer: iamAuth,
      createDefaultStage: true,
    });
    for (const route of props.routes) {
      this.api.addRoutes({
        path: route.path,
        methods: [apigwv2.HttpMethod[route.method]],
        integration,
        authorizer: iamAuth,
      });
    }
    this.accessLogs = new logs.LogGroup(this, "AccessLogs", {
      retention: props.logRetention ?? logs.RetentionDays.TWO_WEEKS,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.DESTROY,
    });
    const stage = this.api.defaultStage?.node.defaultChild as apigwv2.CfnStage;
    stage.accessLogSettings = {
      destinationArn: this.accessLogs.logGroupArn,
      format: JSON.stringify(ACCESS_LOG_FORMAT),
    };
    stage.defaultRouteSettings = {
      throttlingRateLimit: props.throttleRatePerSecond ?? 100,
      throttlingBurstLimit: props.throttleBurst ?? 200,
      detailedMetricsEnabled: true,
    };
  }
}
