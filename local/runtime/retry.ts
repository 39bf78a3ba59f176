/** Bounded retries with exponential backoff; permanent errors (bad input) are not retried. */
import { setTimeout as delay } from "node:timers/promises";
import { isPermanent } from "../../functions/common/contracts.ts";

export interface RetryOutcome<T> {
  ok: boolean;
  value?: T;
  error?: unknown;
  attempts: number;
}

export async function withRetries<T>(
  maxAttempts: number,
  fn: (attempt: number) => Promise<T>,
  backoffMs = 250,
  onRetry?: (attempt: number, error: unknown) => void,
): Promise<RetryOutcome<T>> {
  let attempt = 0;
  for (;;) {
    attempt++;
    try {
      return { ok: true, value: await fn(attempt), attempts: attempt };
    } catch (error) {
      if (isPermanent(error) || attempt >= maxAttempts) return { ok: false, error, attempts: attempt };
      onRetry?.(attempt, error);
      // Backoff between attempts (not a synchronisation wait): 250 ms, 500 ms, 1 s, ... capped at 10 s.
      await delay(Math.min(backoffMs * 2 ** (attempt - 1), 10_000));
    }
  }
}
