/**
 * The one entry point for every message, record and document the stages exchange; the schemas live
 * in contracts/, one module per concern. Shapes stay compatible with the original FLTS services
 * (see DESIGN.md, "Contracts").
 */
export * from "./contracts/batch.ts";
export * from "./contracts/decision.ts";
export * from "./contracts/dlq.ts";
export * from "./contracts/errors.ts";
export {
  DISPATCHED_MODEL_TYPES,
  ErrorMetrics,
  Identifier as IdentifierField,
  MODEL_TYPES,
  ModelType,
  PerTargetMetrics,
  RunId as RunIdField,
} from "./contracts/fields.ts";
export * from "./contracts/messages.ts";
export * from "./contracts/preprocess.ts";
export * from "./contracts/processed.ts";
export * from "./contracts/topics.ts";
export * from "./contracts/training.ts";
