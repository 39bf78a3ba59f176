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
  const service = await startInferenceService(config, logger, { clusterWorker: cluster.isWorker });
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    process.once(signal, () => {
      logger.info("shutdown_requested", { signal });
      service.stop().then(
        () => process.exit(0),
        (error: unknown) => {
          logger.error("shutdown_failed", { error: String(error) });
          process.exit(1);
        },
      );
    });
  }
}
