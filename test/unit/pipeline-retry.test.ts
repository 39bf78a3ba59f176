import { describe, expect, it } from "vitest";
import { PermanentError } from "../../functions/common/contracts.ts";
import { isOutage, withRetries } from "../../local/runtime/retry.ts";

describe("withRetries", () => {
  it("retries a failing call until it succeeds, reporting the attempts", async () => {
    let calls = 0;
    const retried: number[] = [];
    const out = await withRetries(
      5,
      async () => {
        calls++;
        if (calls < 3) throw new Error(`transient ${calls}`);
        return "ok";
      },
      1,
      (attempt) => retried.push(attempt),
    );
    expect(out).toEqual({ ok: true, value: "ok", attempts: 3 });
    expect(retried).toEqual([1, 2]);
  });

  it("gives up after maxAttempts with the last error", async () => {
    let calls = 0;
    const out = await withRetries(
      3,
      async () => {
        calls++;
        throw new Error(`boom ${calls}`);
      },
      1,
    );
    expect(out.ok).toBe(false);
    expect(out.attempts).toBe(3);
    expect((out.error as Error).message).toBe("boom 3");
  });

  it("does not retry a permanent error (bad input)", async () => {
    let calls = 0;
    const out = await withRetries(
      5,
      async () => {
        calls++;
        throw new PermanentError("column 'down' is missing");
      },
      1,
    );
    expect(calls).toBe(1);
    expect(out).toMatchObject({ ok: false, attempts: 1 });
  });

  it("waits out an unreachable endpoint beyond the attempt count, then succeeds", async () => {
    let calls = 0;
    const out = await withRetries(
      3,
      async () => {
        calls++;
        if (calls <= 6)
          throw Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:9000"), { code: "ECONNREFUSED" });
        return "stored";
      },
      1,
    );
    expect(out).toMatchObject({ ok: true, value: "stored", attempts: 7 });
  });

  it("tells an outage from a handler error", () => {
    expect(
      isOutage(Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:9092"), { code: "ECONNREFUSED" })),
    ).toBe(true);
    expect(isOutage(new Error("column 'down' is missing"))).toBe(false);
  });
});
