/** CDK entry (cdk.json): `npm run synth`, `npx cdk synth -c env=prod`, `npx cdk deploy --all`. */
import { App } from "aws-cdk-lib";
import { buildFlts } from "./flts.ts";

const app = new App();
buildFlts(app);
app.synth();
