/** The Kafka topics of the pipeline and their dead-letter topics. */
export const TOPICS = {
  trainingData: "training-data",
  modelTraining: "model-training",
  modelSelected: "model-selected",
  inferenceData: "inference-data",
  performanceEval: "performance-eval",
} as const;
export type Topic = (typeof TOPICS)[keyof typeof TOPICS];
export const ALL_TOPICS: readonly Topic[] = Object.values(TOPICS);
export const dlqTopic = (topic: string): string => `DLQ-${topic}`;
