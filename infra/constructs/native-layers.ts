/**
 * Lambda layers for native modules, assembled at synth time from node_modules by layers/build.ts
 * (local bundling: no Docker, no network). The asset hash is the layer's package versions.
 */
import { createHash } from "node:crypto";
import path from "node:path";
import { AssetHashType } from "aws-cdk-lib";
import * as lambda from "aws-cdk-lib/aws-lambda";
import { Construct } from "constructs";
import type { NativeLayer } from "../../functions/manifest.ts";
import { buildLayer, LAYERS, layerFingerprint } from "../../layers/build.ts";
import { LAMBDA_ARCHITECTURE, LAMBDA_RUNTIME, repoRoot } from "./nodejs-defaults.ts";

/** Packages a function must leave to its layer instead of bundling. */
export function layerExternals(layer: NativeLayer): string[] {
  return LAYERS[layer].packages.map((p) => p.name);
}

export class NativeLayers extends Construct {
  private readonly cache = new Map<NativeLayer, lambda.ILayerVersion>();

  layer(name: NativeLayer): lambda.ILayerVersion {
    const existing = this.cache.get(name);
    if (existing) return existing;
    const root = repoRoot();
    const fingerprint = layerFingerprint(name, root);
    const layer = new lambda.LayerVersion(this, name, {
      description: `${LAYERS[name].description} (${fingerprint})`.slice(0, 256),
      compatibleRuntimes: [LAMBDA_RUNTIME],
      compatibleArchitectures: [LAMBDA_ARCHITECTURE],
      code: lambda.Code.fromAsset(path.join(root, "layers"), {
        assetHash: createHash("sha256").update(fingerprint).digest("hex"),
        assetHashType: AssetHashType.CUSTOM,
        bundling: {
          // Never pulled: local bundling below always succeeds on linux-x64 with node_modules installed.
          image: LAMBDA_RUNTIME.bundlingImage,
          local: {
            tryBundle(outputDir: string): boolean {
              buildLayer(name, outputDir, root);
              return true;
            },
          },
        },
      }),
    });
    this.cache.set(name, layer);
    return layer;
  }
}
