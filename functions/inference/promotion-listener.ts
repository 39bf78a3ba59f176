/**
 * Hears `model-selected` on Kafka. Each replica has its own consumer group, so every replica hears
 * every promotion. The group reads from the beginning and skips messages older than the replica's
 * start: the pointer read at start already covers those, and nothing published after the start is
 * missed while the group is still joining.
 */
import type { Consumer, Kafka } from "kafkajs";
import { describeIssues, ModelSelectedMessage } from "../common/contracts.ts";
import type { Logger } from "../common/log.ts";

export interface PromotionListenerOptions {
  topic: string;
  groupId: string;
  /** Messages with an older timestamp (ms) are skipped. */
  since: number;
  onPromotion: (message: ModelSelectedMessage) => Promise<void>;
}

export class PromotionListener {
  private consumer: Consumer | null = null;
  private joined = false;

  constructor(
    private readonly kafka: Kafka,
    private readonly options: PromotionListenerOptions,
    private readonly logger: Logger,
  ) {}

  get connected(): boolean {
    return this.joined;
  }

  async start(): Promise<void> {
    const { topic, groupId, since, onPromotion } = this.options;
    const consumer = this.kafka.consumer({ groupId, allowAutoTopicCreation: false });
    this.consumer = consumer;
    consumer.on(consumer.events.GROUP_JOIN, () => {
      this.joined = true;
      this.logger.info("model_selected_listening", { topic, group_id: groupId });
    });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message, partition }) => {
        if (Number(message.timestamp) < since || !message.value) return;
        let parsed: ReturnType<typeof ModelSelectedMessage.safeParse>;
        try {
          parsed = ModelSelectedMessage.safeParse(JSON.parse(message.value.toString("utf8")));
        } catch (error) {
          this.logger.warn("model_selected_invalid", {
            partition,
            offset: message.offset,
            error: String(error),
          });
          return;
        }
        if (!parsed.success) {
          this.logger.warn("model_selected_invalid", {
            partition,
            offset: message.offset,
            error: describeIssues(parsed.error),
          });
          return;
        }
        this.logger.info("model_selected_received", {
          identifier: parsed.data.identifier,
          run_id: parsed.data.run_id,
        });
        await onPromotion(parsed.data);
      },
    });
  }

  /** Leaves the group and deletes it: a replica's group is never reused. */
  async stop(): Promise<void> {
    if (!this.consumer) return;
    await this.consumer.disconnect();
    this.consumer = null;
    const admin = this.kafka.admin();
    try {
      await admin.connect();
      await admin.deleteGroups([this.options.groupId]);
    } catch (error) {
      this.logger.warn("consumer_group_delete_failed", {
        group_id: this.options.groupId,
        error: String(error),
      });
    } finally {
      await admin.disconnect();
    }
  }
}
