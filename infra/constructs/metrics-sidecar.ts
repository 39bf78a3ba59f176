/**
 * CloudWatch agent sidecar: scrapes a service's Prometheus `/metrics` over localhost and publishes
 * the gauges and counters the dashboard and autoscaling read as EMF (namespace FLTS/Inference,
 * dimension `service`), so the service itself needs no CloudWatch code.
 */
import { RemovalPolicy } from "aws-cdk-lib";
import * as ecs from "aws-cdk-lib/aws-ecs";
import * as logs from "aws-cdk-lib/aws-logs";
import { Construct } from "constructs";
import { INFERENCE_METRICS, INFERENCE_NAMESPACE, INFERENCE_SERVICE } from "../metrics.ts";

export interface MetricsSidecarProps {
  /** The task the sidecar joins; its task role may write the EMF log group. */
  readonly task: ecs.TaskDefinition;
  /** Port of the service's `/metrics` inside the task. */
  readonly port: number;
  /** Name of the log group the agent writes EMF to. */
  readonly emfLogGroupName: string;
  /** Where the agent's own output goes. */
  readonly agentLogGroup: logs.ILogGroup;
  /** @default "amazon/cloudwatch-agent:latest" */
  readonly image?: string;
  /** @default 15 */
  readonly scrapeIntervalSeconds?: number;
  /** @default logs.RetentionDays.TWO_WEEKS */
  readonly logRetention?: logs.RetentionDays;
  /** Of the EMF log group. @default RemovalPolicy.DESTROY */
  readonly removalPolicy?: RemovalPolicy;
}

export class MetricsSidecar extends Construct {
  readonly container: ecs.ContainerDefinition;
  readonly emfLogs: logs.LogGroup;

  constructor(scope: Construct, id: string, props: MetricsSidecarProps) {
    super(scope, id);
    const interval = props.scrapeIntervalSeconds ?? 15;
    this.emfLogs = new logs.LogGroup(this, "Emf", {
      logGroupName: props.emfLogGroupName,
      retention: props.logRetention ?? logs.RetentionDays.TWO_WEEKS,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.DESTROY,
    });
    const prometheus = [
      "global:",
      `  scrape_interval: ${interval}s`,
      `  scrape_timeout: ${Math.max(1, interval - 5)}s`,
      "scrape_configs:",
      `  - job_name: ${INFERENCE_SERVICE}`,
      "    metrics_path: /metrics",
      "    static_configs:",
      `      - targets: ["localhost:${props.port}"]`,
      "        labels:",
      `          service: ${INFERENCE_SERVICE}`,
    ].join("\n");
    const agentConfig = {
      logs: {
        metrics_collected: {
          prometheus: {
            log_group_name: this.emfLogs.logGroupName,
            prometheus_config_path: "env:PROMETHEUS_CONFIG_CONTENT",
            emf_processor: {
              metric_declaration_dedup: true,
              metric_namespace: INFERENCE_NAMESPACE,
              metric_declaration: Object.values(INFERENCE_METRICS).map((m) => ({
                source_labels: ["job"],
                label_matcher: `^${INFERENCE_SERVICE}$`,
                dimensions: [m.dimensions],
                metric_selectors: [`^${m.name}$`],
              })),
            },
          },
        },
        force_flush_interval: 5,
      },
    };
    this.container = props.task.addContainer("cloudwatch-agent", {
      image: ecs.ContainerImage.fromRegistry(props.image ?? "amazon/cloudwatch-agent:latest"),
      essential: false,
      memoryReservationMiB: 128,
      environment: {
        PROMETHEUS_CONFIG_CONTENT: prometheus,
        CW_CONFIG_CONTENT: JSON.stringify(agentConfig),
      },
      logging: ecs.LogDrivers.awsLogs({ streamPrefix: "cwagent", logGroup: props.agentLogGroup }),
    });
    this.emfLogs.grantWrite(props.task.taskRole);
  }
}
