/**
 * LocalStack mode: the EMF records the functions' handlers print (Powertools Metrics, namespace
 * FLTS/Pipeline, dimension `service`) are forwarded to LocalStack CloudWatch, as CloudWatch Logs
 * extracts them in AWS. Only the records of the runtime's own functions are forwarded.
 */
import { forwardEmfRecord } from "./emf-forwarder.ts";
import { onStdoutRecords } from "./stdout-records.ts";

export interface StageMetrics {
  /** Waits for the records handed to the forwarder so far, and stops forwarding. */
  stop(): Promise<void>;
}

export function forwardStageMetrics(
  functions: readonly string[],
  env: NodeJS.ProcessEnv,
  onError: (error: Error) => void,
): StageMetrics {
  const names = new Set(functions);
  let pending: Promise<unknown> = Promise.resolve();
  const unsubscribe = onStdoutRecords((record) => {
    if (!("_aws" in record) || !names.has(String(record.service))) return;
    pending = pending.then(() => forwardEmfRecord(record, env).catch(onError));
  });
  return {
    stop: async () => {
      unsubscribe();
      await pending;
    },
  };
}
