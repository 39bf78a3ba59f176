/** Load generation for the benches (autocannon, loopback only) and the figures drawn from it. */
import autocannon from "autocannon";

export interface Load {
  rps: number;
  latencies: number[];
  errors: number;
  non2xx: number;
}

/** Runs autocannon for `seconds`; each connection cycles through `bodies` (prebuilt, no per-request setup). */
export async function load(
  url: string,
  path: string,
  bodies: string[],
  connections: number,
  seconds: number,
): Promise<Load> {
  const latencies: number[] = [];
  const instance = autocannon({
    url: `${url}${path}`,
    connections,
    duration: seconds,
    requests: bodies.map((body) => ({
      method: "POST" as const,
      headers: { "content-type": "application/json" },
      body,
    })),
  });
  (instance as unknown as NodeJS.EventEmitter).on(
    "response",
    (_client: unknown, _status: number, _bytes: number, responseTime: number) => latencies.push(responseTime),
  );
  const result = await instance;
  return {
    rps: result.requests.total / seconds,
    latencies,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
  };
}

export const round = (v: number, digits = 2) => Math.round(v * 10 ** digits) / 10 ** digits;

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return round(sorted[Math.max(0, index)] as number);
}
