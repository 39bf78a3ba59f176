/** The wait loop of the local CLIs: poll S3 (or in-memory state) while the runtime works, riding out storage outages. */
import { setTimeout as delay } from "node:timers/promises";
import { isOutage } from "../runtime/retry.ts";
import type { Report } from "./events.ts";
import { StageError } from "./watch.ts";

/** Polls `probe` (250 ms apart) until it yields a value, `run.failure` is set or the deadline passes. */
export async function waitFor<T>(
  what: string,
  stage: string,
  deadline: number,
  run: { failure: Error | null },
  report: Report,
  probe: () => Promise<T | null> | T | null,
): Promise<T> {
  let outage = false;
  for (;;) {
    if (run.failure) throw run.failure;
    try {
      const value = await probe();
      if (outage) report({ step: "pipeline", state: "warning", detail: "storage answers again" });
      outage = false;
      if (value !== null) return value;
    } catch (error) {
      if (!isOutage(error)) throw error;
      if (!outage)
        report({
          step: "pipeline",
          state: "warning",
          detail: `storage unreachable (${(error as Error).message}): waiting for it`,
        });
      outage = true;
    }
    if (Date.now() > deadline) throw new StageError(stage, `timed out waiting for ${what}`);
    await delay(250);
  }
}
