/** Bounded retries with exponential backoff; permanent errors (bad input) are not retried. */
import { setTimeout as delay } from "node:timers/promises";
import { isPermanent } from "../../functions/common/contracts.ts";

export interface RetryOutcome<T> {
  ok: boolean;
  value?: T;
  error?: unknown;
  attempts: number;
}

/** An unreachable S3 endpoint or broker (a restarting MinIO or Kafka): worth waiting out. */
export function isOutage(error: unknown): boolean {
  const e = error as { name?: unknown; message?: unknown; code?: unknown } | null;
  const text = `${e?.name ?? ""} ${e?.message ?? ""} ${e?.code ?? ""}`;
  return /ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|EHOSTUNREACH|socket hang up|TimeoutError|ServiceUnavailable|SlowDown|KafkaJSConnectionError|KafkaJSNumberOfRetriesExceeded/.test(
    text,
  );
}

/** How long an outage is waited out, on top of the attempts (the local runtime rides out about a minute). */
export const OUTAGE_BUDGET_MS = 60_000;

export async function withRetries<T>(
  maxAttempts: number,
  fn: (attempt: number) => Promise<T>,
  backoffMs = 250,
  onRetry?: (attempt: number, error: unknown) => void,
): Promise<RetryOutcome<T>> {
  let attempt = 0;
  let outageSince: number | null = null;
  for (;;) {
    attempt++;
    try {
      return { ok: true, value: await fn(attempt), attempts: attempt };
    } catch (error) {
      if (isPermanent(error)) return { ok: false, error, attempts: attempt };
      if (isOutage(error)) outageSince ??= Date.now();
      else outageSince = null;
      const waitingOut = outageSince !== null && Date.now() - outageSince < OUTAGE_BUDGET_MS;
      if (!waitingOut && attempt >= maxAttempts) return { ok: false, error, attempts: attempt };
      onRetry?.(attempt, error);
      // Backoff between attempts (not a synchronisation wait): 250 ms, 500 ms, 1 s, ... capped at 10 s.
      await delay(Math.min(backoffMs * 2 ** (Math.min(attempt, 10) - 1), 10_000));
    }
  }
}
