/**
 * Where alarms page: an SNS topic (KMS-encrypted, TLS only, optionally an email subscription) that
 * every alarm made here notifies when it fires and when it clears. It keeps the alarms it made, for
 * the dashboard's alarm status widget.
 */
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as actions from "aws-cdk-lib/aws-cloudwatch-actions";
import * as iam from "aws-cdk-lib/aws-iam";
import * as kms from "aws-cdk-lib/aws-kms";
import * as sns from "aws-cdk-lib/aws-sns";
import * as subscriptions from "aws-cdk-lib/aws-sns-subscriptions";
import { Construct } from "constructs";

export interface AlarmChannelProps {
  /** Alarm names are `<namePrefix>-<name>`; the topic is `<namePrefix>-alarms`. */
  readonly namePrefix: string;
  /** Subscribed to the topic. @default no subscription */
  readonly email?: string;
}

export class AlarmChannel extends Construct {
  readonly topic: sns.Topic;
  /** Every alarm made through this channel, in order. */
  readonly alarms: cloudwatch.Alarm[] = [];
  private readonly namePrefix: string;
  private readonly action: actions.SnsAction;

  constructor(scope: Construct, id: string, props: AlarmChannelProps) {
    super(scope, id);
    this.namePrefix = props.namePrefix;
    const key = new kms.Key(this, "Key", {
      enableKeyRotation: true,
      description: "FLTS alarm notifications",
    });
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        actions: ["kms:Decrypt", "kms:GenerateDataKey*"],
        principals: [new iam.ServicePrincipal("cloudwatch.amazonaws.com")],
        resources: ["*"],
      }),
    );
    this.topic = new sns.Topic(this, "Topic", {
      topicName: `${props.namePrefix}-alarms`,
      masterKey: key,
      enforceSSL: true,
    });
    if (props.email) this.topic.addSubscription(new subscriptions.EmailSubscription(props.email));
    this.action = new actions.SnsAction(this.topic);
  }

  /** An alarm `<namePrefix>-<name>` (construct id `name` under `scope`); missing data is not breaching unless `props` say. */
  alarm(scope: Construct, name: string, props: Omit<cloudwatch.AlarmProps, "alarmName">): cloudwatch.Alarm {
    const alarm = new cloudwatch.Alarm(scope, name, {
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      ...props,
      alarmName: `${this.namePrefix}-${name}`,
    });
    alarm.addAlarmAction(this.action);
    alarm.addOkAction(this.action);
    this.alarms.push(alarm);
    return alarm;
  }

  /** An alarm that fires on any period in which `metric` is above zero. */
  nonZero(scope: Construct, name: string, description: string, metric: cloudwatch.IMetric): cloudwatch.Alarm {
    return this.alarm(scope, name, {
      alarmDescription: description,
      metric,
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
    });
  }
}
