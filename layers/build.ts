/**
 * Lambda layers for the native modules esbuild cannot bundle (DuckDB, onnxruntime-node).
 *
 * A layer is assembled from the project's own node_modules (installed by `npm ci` on linux-x64), so
 * building one needs neither Docker nor network: the CDK app calls `buildLayer` as local bundling
 * at synth time, and `npx tsx layers/build.ts <duckdb|onnxruntime> <outDir>` does the same by hand.
 * The result is `<outDir>/nodejs/node_modules/...`, which Lambda mounts at /opt/nodejs/node_modules
 * (on NODE_PATH for CommonJS handlers).
 */
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export type LayerName = "duckdb" | "onnxruntime";

interface PackageCopy {
  /** Package name inside node_modules. */
  name: string;
  /** Paths inside the package to leave out (relative, posix). */
  exclude?: (relative: string) => boolean;
}

export interface LayerSpec {
  name: LayerName;
  description: string;
  packages: PackageCopy[];
  /** Packages whose installed versions make up the layer's asset hash. */
  versionedBy: string[];
}

/** Keep only the linux-x64 onnxruntime binaries (the others are ~240 MB and useless on Lambda x86_64). */
const onnxExclude = (rel: string): boolean => {
  if (rel.startsWith("bin/")) {
    const parts = rel.split("/");
    // bin/napi-v6/<platform>/<arch>/...
    if (parts.length >= 3 && parts[2] !== "linux") return true;
    if (parts.length >= 4 && parts[3] !== "x64") return true;
  }
  return rel === "script" || rel.startsWith("script/") || rel.endsWith(".md") || rel.endsWith(".d.ts");
};

export const LAYERS: Record<LayerName, LayerSpec> = {
  duckdb: {
    name: "duckdb",
    description: "DuckDB Node API with linux-x64 bindings",
    packages: [
      { name: "@duckdb/node-api", exclude: (rel) => rel.endsWith(".md") },
      { name: "@duckdb/node-bindings", exclude: (rel) => rel.endsWith(".md") },
      { name: "@duckdb/node-bindings-linux-x64", exclude: (rel) => rel.endsWith(".md") },
    ],
    versionedBy: ["@duckdb/node-api", "@duckdb/node-bindings", "@duckdb/node-bindings-linux-x64"],
  },
  onnxruntime: {
    name: "onnxruntime",
    description: "onnxruntime-node (CPU, linux-x64) and onnxruntime-common",
    packages: [{ name: "onnxruntime-node", exclude: onnxExclude }, { name: "onnxruntime-common" }],
    versionedBy: ["onnxruntime-node", "onnxruntime-common"],
  },
};

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

function packageDir(root: string, name: string): string {
  return path.join(root, "node_modules", ...name.split("/"));
}

export function packageVersion(name: string, root = repoRoot): string {
  const file = path.join(packageDir(root, name), "package.json");
  if (!existsSync(file)) {
    throw new Error(`layer package '${name}' is not installed (${file} missing): run npm ci on linux-x64`);
  }
  return (JSON.parse(readFileSync(file, "utf8")) as { version: string }).version;
}

/** A stable hash input for the layer: its name and the versions it is built from. */
export function layerFingerprint(name: LayerName, root = repoRoot): string {
  const spec = LAYERS[name];
  return [spec.name, ...spec.versionedBy.map((p) => `${p}@${packageVersion(p, root)}`)].join("|");
}

/** Writes `<outDir>/nodejs/node_modules/<package>` for every package of the layer. */
export function buildLayer(name: LayerName, outDir: string, root = repoRoot): void {
  const spec = LAYERS[name];
  const modules = path.join(outDir, "nodejs", "node_modules");
  mkdirSync(modules, { recursive: true });
  for (const pkg of spec.packages) {
    const src = packageDir(root, pkg.name);
    packageVersion(pkg.name, root);
    const dest = path.join(modules, ...pkg.name.split("/"));
    rmSync(dest, { recursive: true, force: true });
    cpSync(src, dest, {
      recursive: true,
      dereference: true,
      filter: (from) => {
        const rel = path.relative(src, from).split(path.sep).join("/");
        if (rel === "") return true;
        if (rel === "node_modules" || rel.startsWith("node_modules/")) return false;
        return !pkg.exclude?.(rel);
      },
    });
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [name, out] = process.argv.slice(2);
  if (!name || !out || !(name in LAYERS)) {
    console.error(`usage: tsx layers/build.ts <${Object.keys(LAYERS).join("|")}> <outDir>`);
    process.exit(2);
  }
  buildLayer(name as LayerName, path.resolve(out));
  console.log(`layer ${layerFingerprint(name as LayerName)} written to ${path.resolve(out)}/nodejs`);
}
