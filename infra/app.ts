/** CDK entry (cdk.json): `npm run synth`, `npx cdk synth -c env=prod`, `npx cdk deploy --all`. */
import { App } from "aws-cdk-lib";
import { buildFlts } from "./flts.ts";
import { acknowledgedCounts, nagReport } from "./nag.ts";

const app = new App();
const { config } = buildFlts(app);
// The AwsSolutions pack runs as a validation plugin here: an unacknowledged finding throws.
app.synth();
const report = nagReport(app);
const acks = acknowledgedCounts(app);
const total = Object.values(acks).reduce((a, b) => a + b, 0);
console.error(
  `cdk-nag AwsSolutions (${config.envName}): ${report.errors.length} unacknowledged errors, ${report.warnings.length} warnings; ` +
    `${total} acknowledgements, each with its reason (${Object.entries(acks)
      .map(([id, n]) => `${id.replace("AwsSolutions-", "")} ${n}`)
      .join(", ")})`,
);
