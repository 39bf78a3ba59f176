import { z } from "zod";

/** What lands in `DLQ-<topic>` when a message fails validation or exhausts its retries. */
export const DlqEnvelope = z.object({
  source_topic: z.string(),
  partition: z.number().int(),
  offset: z.string(),
  key: z.string().nullable(),
  value: z.string(),
  consumer_group: z.string(),
  function: z.string(),
  error: z.string(),
  attempts: z.number().int().positive(),
  failed_at: z.string(),
});
export type DlqEnvelope = z.infer<typeof DlqEnvelope>;
