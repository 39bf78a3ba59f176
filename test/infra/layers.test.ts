/** The native-module layers: built from node_modules, linux-x64 only, loadable through NODE_PATH like /opt/nodejs. */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { FUNCTIONS } from "../../functions/manifest.ts";
import { buildLayer, LAYERS, type LayerName, layerFingerprint } from "../../layers/build.ts";

const out = mkdtempSync(path.join(tmpdir(), "flts-layers-"));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe("native layers", () => {
  it("covers every layer the manifest asks for", () => {
    for (const f of FUNCTIONS) for (const l of f.layers) expect(Object.keys(LAYERS)).toContain(l);
  });

  it.each(Object.keys(LAYERS) as LayerName[])("%s: builds and loads from NODE_PATH", (name) => {
    const dir = path.join(out, name);
    buildLayer(name, dir);
    const modules = path.join(dir, "nodejs", "node_modules");
    for (const pkg of LAYERS[name].packages)
      expect(existsSync(path.join(modules, pkg.name, "package.json")), pkg.name).toBe(true);
    const entry = LAYERS[name].packages[0]?.name as string;
    // A CommonJS require, resolved only through NODE_PATH, as in a Lambda with the layer at /opt/nodejs.
    const loaded = execFileSync(
      process.execPath,
      ["-e", `const m = require(${JSON.stringify(entry)}); console.log(typeof m)`],
      {
        cwd: out,
        env: { PATH: process.env.PATH ?? "", NODE_PATH: modules },
        encoding: "utf8",
      },
    );
    expect(loaded.trim()).toBe("object");
    expect(layerFingerprint(name)).toMatch(new RegExp(`^${name}\\|`));
  });

  it("ships only the linux-x64 onnxruntime binaries", () => {
    const bin = path.join(out, "onnxruntime", "nodejs", "node_modules", "onnxruntime-node", "bin", "napi-v6");
    expect(existsSync(path.join(bin, "linux", "x64", "onnxruntime_binding.node"))).toBe(true);
    expect(existsSync(path.join(bin, "darwin"))).toBe(false);
    expect(existsSync(path.join(bin, "win32"))).toBe(false);
    expect(existsSync(path.join(bin, "linux", "arm64"))).toBe(false);
  });
});
