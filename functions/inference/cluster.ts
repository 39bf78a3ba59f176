/**
 * Several service processes on one port (Node's cluster module), one per CPU by default: the
 * primary forks them, restarts one that dies, forwards SIGTERM/SIGINT so each drains and flushes its
 * inference logs, and answers a worker's request for the metrics of all of them (prom-client's
 * AggregatorRegistry), so `/metrics` reads the same whichever process serves it.
 */
import cluster from "node:cluster";
import { AggregatorRegistry, type Registry } from "prom-client";
import type { Logger } from "../common/log.ts";

const METRICS_REQUEST = "flts:cluster-metrics-request";
const METRICS_REPLY = "flts:cluster-metrics-reply";
/** A worker that keeps dying is not restarted forever: this many exits within the window stop the primary. */
const MAX_RESTARTS = 5;
const RESTART_WINDOW_MS = 60_000;
const METRICS_TIMEOUT_MS = 5_000;

interface MetricsRequest {
  type: typeof METRICS_REQUEST;
  id: number;
}

interface MetricsReply {
  type: typeof METRICS_REPLY;
  id: number;
  text?: string;
  error?: string;
}

/** In the primary: forks `workers` service processes and supervises them until they all exit. */
export function runPrimary(workers: number, logger: Logger): void {
  const aggregator = new AggregatorRegistry();
  const exits: number[] = [];
  let stopping = false;
  let exitCode = 0;

  cluster.on("message", (worker, message: MetricsRequest) => {
    if (message?.type !== METRICS_REQUEST) return;
    const reply = (fields: Partial<MetricsReply>) =>
      worker.isConnected() && worker.send({ type: METRICS_REPLY, id: message.id, ...fields });
    aggregator.clusterMetrics().then(
      (text) => reply({ text }),
      (error: unknown) => reply({ error: String(error) }),
    );
  });

  const stop = (code: number) => {
    if (stopping) return;
    stopping = true;
    exitCode = code;
    const running = Object.values(cluster.workers ?? {});
    if (running.length === 0) process.exit(exitCode);
    // Each worker drains its requests and flushes its logs on its own SIGTERM handler.
    for (const worker of running) worker?.process.kill("SIGTERM");
  };

  cluster.on("exit", (worker, code, signal) => {
    if (stopping) {
      if (code !== 0) exitCode = 1;
      if (Object.keys(cluster.workers ?? {}).length === 0) {
        logger.info("inference_workers_stopped", { workers, exit_code: exitCode });
        process.exit(exitCode);
      }
      return;
    }
    const now = Date.now();
    while (exits.length > 0 && now - (exits[0] as number) > RESTART_WINDOW_MS) exits.shift();
    exits.push(now);
    logger.error("inference_worker_exited", {
      pid: worker.process.pid,
      code,
      signal,
      recent_exits: exits.length,
    });
    if (exits.length >= MAX_RESTARTS) {
      logger.error("inference_workers_failing", { exits: exits.length, window_ms: RESTART_WINDOW_MS });
      stop(1);
      return;
    }
    cluster.fork();
  });

  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    process.once(signal, () => {
      logger.info("shutdown_requested", { signal, workers });
      stop(0);
    });
  }

  logger.info("inference_workers_starting", { workers });
  for (let i = 0; i < workers; i++) cluster.fork();
}

/**
 * In a worker: offers `registry` to the primary's aggregation and returns the reader of the
 * aggregated metrics (Prometheus text).
 */
export function clusterMetricsReader(registry: Registry): () => Promise<string> {
  // Constructing an AggregatorRegistry in a worker makes prom-client answer the primary's requests.
  new AggregatorRegistry();
  AggregatorRegistry.setRegistries([registry]);
  const waiting = new Map<number, { resolve: (text: string) => void; reject: (error: Error) => void }>();
  let nextId = 1;
  process.on("message", (message: MetricsReply) => {
    if (message?.type !== METRICS_REPLY) return;
    const call = waiting.get(message.id);
    if (!call) return;
    waiting.delete(message.id);
    if (message.text !== undefined) call.resolve(message.text);
    else call.reject(new Error(`cluster metrics failed: ${message.error}`));
  });
  return () =>
    new Promise<string>((resolve, reject) => {
      const id = nextId++;
      const timer = setTimeout(() => {
        waiting.delete(id);
        reject(new Error(`cluster metrics: no answer from the primary within ${METRICS_TIMEOUT_MS} ms`));
      }, METRICS_TIMEOUT_MS);
      waiting.set(id, {
        resolve: (text) => {
          clearTimeout(timer);
          resolve(text);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      process.send?.({ type: METRICS_REQUEST, id } satisfies MetricsRequest);
    });
}
