/**
 * Entry point of the inference container: configuration from the environment; WORKERS service
 * processes on the port (cluster.ts), or this process alone when WORKERS=1; drain on SIGTERM.
 */
import cluster from "node:cluster";
import { createLogger } from "../common/log.ts";
import { runPrimary } from "./cluster.ts";
import { loadInferenceConfig } from "./config.ts";
import { startInferenceService } from "./service.ts";

const logger = createLogger("flts-inference");
const config = loadInferenceConfig();

if (config.workers > 1 && cluster.isPrimary) {
  runPrimary(config.workers, logger);
} else {
  if (cluster.isWorker) logger.appendPersistentKeys({ worker: cluster.worker?.id ?? 0 });
  // Installed before start-up, which may wait for the model: a signal then ends the wait and stops.
  const startAbort = new AbortController();
  const starting = startInferenceService(config, logger, {
    clusterWorker: cluster.isWorker,
    startAbort: startAbort.signal,
  });
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    process.once(signal, () => {
      logger.info("shutdown_requested", { signal });
      startAbort.abort();
      starting
        .then((service) => service.stop())
        .then(
          () => process.exit(0),
          (error: unknown) => {
            logger.error("shutdown_failed", { error: String(error) });
            process.exit(1);
          },
        );
    });
  }
  await starting;
}
