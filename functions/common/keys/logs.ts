/** inference-logs keys: the service's request logs and batch results (layout: functions/common/keys.ts). */
import { dayOf, matcher, NAME } from "./segments.ts";

export const inferenceLogKeys = {
  prefix: (identifier: string) => `${identifier}/`,
  /** One file of request log lines, named by its first record's time, the writer and its sequence. */
  requests: (identifier: string, firstAt: Date, instance: string, sequence: number) => {
    const time = firstAt.toISOString().slice(11, 19).replace(/:/g, "");
    return `${identifier}/${dayOf(firstAt)}/${time}-${instance}-${sequence}.jsonl`;
  },
  /** The results of one batch run; `<id>` names the claim check, so a retry overwrites its own. */
  batch: (identifier: string, at: Date, runId: string, id: string) =>
    `${identifier}/${dayOf(at)}/batch-${runId}-${id}.parquet`,
};

export type InferenceLogKey =
  | { kind: "requests"; identifier: string; day: string; time: string; instance: string; sequence: number }
  | { kind: "batch"; identifier: string; day: string; name: string };

const requests = matcher(`(${NAME})/([0-9]{8})/([0-9]{6})-([0-9a-zA-Z]+)-([0-9]+)\\.jsonl`);
const batch = matcher(`(${NAME})/([0-9]{8})/batch-(${NAME})\\.parquet`);

export function parseInferenceLogKey(key: string): InferenceLogKey | null {
  const r = requests(key);
  if (r) {
    const [identifier, day, time, instance, sequence] = r as [string, string, string, string, string];
    return { kind: "requests", identifier, day, time, instance, sequence: Number(sequence) };
  }
  const b = batch(key);
  return b ? { kind: "batch", identifier: b[0] as string, day: b[1] as string, name: b[2] as string } : null;
}
