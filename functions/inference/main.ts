/** Entry point of the inference container: configuration from the environment, drain on SIGTERM. */
import { createLogger } from "../common/log.ts";
import { loadInferenceConfig } from "./config.ts";
import { startInferenceService } from "./service.ts";

const logger = createLogger("flts-inference");
const service = await startInferenceService(loadInferenceConfig(), logger);

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
