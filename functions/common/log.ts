/** Structured JSON logs (Powertools Logger): the same keys locally and in Lambda/Fargate. */
import { Logger } from "@aws-lambda-powertools/logger";

export type { Logger };

export function createLogger(serviceName: string): Logger {
  return new Logger({ serviceName, logLevel: (process.env.LOG_LEVEL ?? "INFO") as "INFO" });
}
