/** The one polling wait of the tests: a condition checked again and again, bounded by a timeout. */
import { setTimeout as delay } from "node:timers/promises";

export interface PollOptions {
  /** Fails after this long (default 60 s). */
  timeoutMs?: number;
  /** Pause between probes (default 50 ms). */
  intervalMs?: number;
}

type Pending = undefined | null | false;

/**
 * Calls `probe` until it returns something other than undefined, null or false, and returns that.
 * An error thrown by `probe` fails at once; after `timeoutMs` it fails naming `what`.
 */
export async function pollUntil<T>(
  what: string,
  probe: () => T | Promise<T>,
  { timeoutMs = 60_000, intervalMs = 50 }: PollOptions = {},
): Promise<Exclude<T, Pending>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== null && value !== false) return value as Exclude<T, Pending>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await delay(intervalMs);
  }
}
