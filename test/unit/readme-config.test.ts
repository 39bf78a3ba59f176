/**
 * The README's configuration table against the code: every environment variable the source reads
 * (functions/, local/, infra/, layers/, the Python trainer) has a row, and every row names a variable
 * something reads. No services needed.
 *
 * The settings of the stages and the service are declared tables (functions/common/settings.ts) that
 * the manifest lists: their names come from the manifest itself (a per-type setting `X` is `X` and
 * `X_<TYPE>`), with COMMON_SETTINGS. Everything else is found by scanning the source.
 *
 * The scan parses TypeScript/JavaScript with the TypeScript compiler and finds:
 * - `process.env.X`, `process.env["X"]`, and the same on any object named `env`/`…Env` (`env.X`,
 *   `this.env["X"]`); plain assignments (`env.X = …`) are writes and do not count, `??=` does;
 * - zod objects whose keys are all UPPER_CASE (an env schema such as local/runtime/emf-forwarder.ts's);
 * - calls of reader functions with a literal name: a function is a reader when it indexes an env
 *   object with one of its parameters (`env[name]`), or passes a parameter on to a reader
 *   (`envString(env, "X", …)`, `port("FLTS_KAFKA_PORT", …)`, `perType(env, "ECS_CLUSTER", type)`); a
 *   template literal `` `${name}_${type}` `` built from the name parameter makes `X_<TYPE>` read too,
 *   and a literal template `` `X_${type}` `` reads `X_<TYPE>`;
 * and in Python `os.environ.get("X")`, `os.environ["X"]`, `os.getenv("X")`.
 */
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import { COMMON_SETTINGS } from "../../functions/common/config.ts";
import type { SettingsTable } from "../../functions/common/settings.ts";
import { FUNCTIONS, SERVICE } from "../../functions/manifest.ts";

const root = new URL("../..", import.meta.url).pathname;
const SCANNED_DIRS = ["functions", "local", "infra", "layers"];
const JS_EXT = /\.(ts|mts|cts|mjs|cjs|js)$/;
const VAR = /^[A-Z][A-Z0-9_]*[A-Z0-9](_<[A-Z]+>)?$/;

/** A source file is scanned unless it is a test, a fixture or a dependency. */
function scanned(path: string): boolean {
  if (!SCANNED_DIRS.some((d) => path.startsWith(`${d}/`))) return false;
  if (/(^|\/)(node_modules|tests?|__pycache__|cdk\.out|\.venv)\//.test(path)) return false;
  if (/\.(test|spec)\.[a-z]+$/.test(path) || /(^|\/)(test_[^/]*|conftest)\.py$/.test(path)) return false;
  if (path.endsWith(".d.ts")) return false;
  return JS_EXT.test(path) || path.endsWith(".py");
}

function walk(dir: string, out: string[]): void {
  for (const name of readdirSync(join(root, dir))) {
    if (name === "node_modules" || name.startsWith(".")) continue;
    const path = `${dir}/${name}`;
    if (statSync(join(root, path)).isDirectory()) walk(path, out);
    else out.push(path);
  }
}

/** Tracked files plus new ones git does not ignore; a plain walk where git is not available. */
function sourceFiles(): string[] {
  let files: string[];
  try {
    files = execFileSync("git", ["ls-files", "--cached", "--others", "--exclude-standard", "-z"], {
      cwd: root,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    })
      .split("\0")
      .filter(Boolean);
  } catch {
    files = [];
    for (const dir of SCANNED_DIRS) walk(dir, files);
  }
  return files.filter((f) => scanned(f) && statSync(join(root, f), { throwIfNoEntry: false })?.isFile());
}

interface Read {
  name: string;
  file: string;
}

const isEnvObject = (node: ts.Expression): boolean => {
  const text = node.getText().replace(/\s+/g, "").replace(/\?\./g, ".");
  return text === "process.env" || /(^|\.)(env|\w*Env)$/.test(text);
};

const stringValue = (node: ts.Node | undefined): string | null =>
  node && (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) ? node.text : null;

/** `X_<TYPE>` for a placeholder expression such as `type` or `spec.model_type`. */
function placeholder(expr: ts.Expression): string {
  const last = expr.getText().split(".").at(-1) ?? "X";
  const upper = last.replace(/[^A-Za-z0-9_]/g, "").toUpperCase();
  return `<${upper === "MODEL_TYPE" ? "TYPE" : upper}>`;
}

/** The variable names a literal argument stands for: `"X"` → X; `` `X_${type}` `` → X_<TYPE>. */
function literalNames(node: ts.Node | undefined): string[] {
  const plain = stringValue(node);
  if (plain !== null) return [plain];
  if (node && ts.isTemplateExpression(node) && node.head.text && node.templateSpans.length === 1) {
    const span = node.templateSpans[0] as ts.TemplateSpan;
    if (span.literal.text === "") return [`${node.head.text}${placeholder(span.expression)}`];
  }
  return [];
}

/** How a reader uses its argument at `index`: the name itself, or also `<name>_<TYPE>`. */
interface ReaderArg {
  index: number;
  suffixes: string[];
}
type Readers = Map<string, ReaderArg[]>;

function calleeName(call: ts.CallExpression): string | null {
  const callee = call.expression;
  if (ts.isIdentifier(callee)) return callee.text;
  if (ts.isPropertyAccessExpression(callee)) return callee.name.text;
  return null;
}

type FunctionLike = ts.FunctionDeclaration | ts.MethodDeclaration | ts.ArrowFunction | ts.FunctionExpression;

function functionName(fn: FunctionLike): string | null {
  if ((ts.isFunctionDeclaration(fn) || ts.isMethodDeclaration(fn)) && fn.name) return fn.name.getText();
  if (ts.isVariableDeclaration(fn.parent) && ts.isIdentifier(fn.parent.name)) return fn.parent.name.text;
  return null;
}

/** One pass: functions that read the env through one of their parameters (directly or via a reader). */
function findReaders(sources: ts.SourceFile[], known: Readers): boolean {
  let changed = false;
  const add = (name: string, arg: ReaderArg) => {
    const list = known.get(name) ?? [];
    const same = list.find((a) => a.index === arg.index);
    if (same) {
      const more = arg.suffixes.filter((s) => !same.suffixes.includes(s));
      if (more.length === 0) return;
      same.suffixes.push(...more);
    } else list.push({ index: arg.index, suffixes: [...arg.suffixes] });
    known.set(name, list);
    changed = true;
  };
  for (const source of sources) {
    const visitFunction = (fn: FunctionLike) => {
      const name = functionName(fn);
      if (!name) return;
      const params = fn.parameters.map((p) => (ts.isIdentifier(p.name) ? p.name.text : ""));
      const paramIndex = (node: ts.Node | undefined): number =>
        node && ts.isIdentifier(node) ? params.indexOf(node.text) : -1;
      const visit = (node: ts.Node): void => {
        if (ts.isElementAccessExpression(node) && isEnvObject(node.expression)) {
          const i = paramIndex(node.argumentExpression);
          if (i >= 0) add(name, { index: i, suffixes: [""] });
        }
        if (ts.isCallExpression(node)) {
          const callee = calleeName(node);
          for (const arg of (callee ? known.get(callee) : undefined) ?? []) {
            const passed = node.arguments[arg.index];
            const i = paramIndex(passed);
            if (i >= 0) add(name, { index: i, suffixes: arg.suffixes });
            // `${name}_${type}`: the parameter with a per-type suffix.
            if (passed && ts.isTemplateExpression(passed) && passed.head.text === "") {
              const [first, second] = passed.templateSpans;
              const j = paramIndex(first?.expression);
              if (j >= 0 && first && second && second.literal.text === "" && /^_$/.test(first.literal.text)) {
                add(name, { index: j, suffixes: [`_${placeholder(second.expression)}`] });
              }
            }
          }
        }
        ts.forEachChild(node, visit);
      };
      if (fn.body) visit(fn.body);
    };
    const walkFunctions = (node: ts.Node): void => {
      if (
        ts.isFunctionDeclaration(node) ||
        ts.isMethodDeclaration(node) ||
        ts.isArrowFunction(node) ||
        ts.isFunctionExpression(node)
      ) {
        visitFunction(node);
      }
      ts.forEachChild(node, walkFunctions);
    };
    walkFunctions(source);
  }
  return changed;
}

const isPlainAssignmentTarget = (node: ts.Node): boolean =>
  ts.isBinaryExpression(node.parent) &&
  node.parent.left === node &&
  node.parent.operatorToken.kind === ts.SyntaxKind.EqualsToken;

/** Every environment read in the given TypeScript/JavaScript sources. */
function scanScripts(files: { file: string; text: string }[]): Read[] {
  const sources = files.map(({ file, text }) =>
    ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS),
  );
  const readers: Readers = new Map();
  for (let pass = 0; pass < 10 && findReaders(sources, readers); pass++) {}
  const reads: Read[] = [];
  for (const source of sources) {
    const file = source.fileName;
    const push = (...names: string[]) => {
      for (const name of names) if (VAR.test(name)) reads.push({ name, file });
    };
    const visit = (node: ts.Node): void => {
      if (
        ts.isPropertyAccessExpression(node) &&
        isEnvObject(node.expression) &&
        !isPlainAssignmentTarget(node)
      ) {
        push(node.name.text);
      }
      if (
        ts.isElementAccessExpression(node) &&
        isEnvObject(node.expression) &&
        !isPlainAssignmentTarget(node)
      ) {
        push(...literalNames(node.argumentExpression));
      }
      if (ts.isCallExpression(node)) {
        const callee = calleeName(node);
        for (const arg of (callee ? readers.get(callee) : undefined) ?? []) {
          for (const name of literalNames(node.arguments[arg.index])) {
            push(...arg.suffixes.map((s) => `${name}${s}`));
          }
        }
        // zod objects with UPPER_CASE keys only: environment schemas.
        const obj = node.arguments[0];
        if (
          ts.isPropertyAccessExpression(node.expression) &&
          node.expression.expression.getText() === "z" &&
          /^(object|looseObject|strictObject)$/.test(node.expression.name.text) &&
          obj &&
          ts.isObjectLiteralExpression(obj)
        ) {
          const keys = obj.properties.map((p) => (p.name ? (stringValue(p.name) ?? p.name.getText()) : ""));
          if (keys.length > 0 && keys.every((k) => VAR.test(k))) push(...keys);
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return reads;
}

/** Every environment read in Python sources. */
function scanPython(files: { file: string; text: string }[]): Read[] {
  const pattern =
    /\bos\.(?:environ\.get|getenv|environ\.setdefault)\(\s*["']([A-Z][A-Z0-9_]*)["']|\bos\.environ\[\s*["']([A-Z][A-Z0-9_]*)["']\s*\](?!\s*=[^=])/g;
  const reads: Read[] = [];
  for (const { file, text } of files) {
    for (const m of text.matchAll(pattern)) reads.push({ name: (m[1] ?? m[2]) as string, file });
  }
  return reads;
}

/** Every manifest table and the common one. */
function declaredTables(): [string, SettingsTable][] {
  return [
    ["functions/common/config.ts", COMMON_SETTINGS],
    [`functions/manifest.ts (${SERVICE.name})`, SERVICE.settings],
    ...FUNCTIONS.map((f): [string, SettingsTable] => [`functions/manifest.ts (${f.name})`, f.settings]),
  ];
}

/** The declared settings (`X` per type is also `X_<TYPE>`). */
function declaredReads(): Read[] {
  return declaredTables().flatMap(([file, table]) =>
    Object.entries(table).flatMap(([name, s]) => [
      { name, file },
      ...(s.perType ? [{ name: `${name}_<TYPE>`, file }] : []),
    ]),
  );
}

function codeReads(): Map<string, string[]> {
  const files = sourceFiles().map((file) => ({ file, text: readFileSync(join(root, file), "utf8") }));
  const reads = [
    ...declaredReads(),
    ...scanScripts(files.filter((f) => JS_EXT.test(f.file))),
    ...scanPython(files.filter((f) => f.file.endsWith(".py"))),
  ];
  const byName = new Map<string, string[]>();
  for (const { name, file } of reads) {
    const list = byName.get(name) ?? [];
    if (!list.includes(file)) list.push(file);
    byName.set(name, list);
  }
  return byName;
}

interface TableRow {
  names: string[];
  cells: string[];
  line: number;
}

/** Rows of the tables in the README's `## Configuration` section (up to the next `## ` heading). */
function configTable(markdown: string): TableRow[] {
  const lines = markdown.split("\n");
  const start = lines.findIndex((l) => /^## Configuration\b/.test(l));
  if (start < 0) return [];
  const rows: TableRow[] = [];
  for (let i = start + 1; i < lines.length; i++) {
    const line = lines[i] as string;
    if (/^## /.test(line)) break;
    if (!line.startsWith("|") || /^\|[\s|:-]+\|$/.test(line)) continue;
    const cells = line
      .slice(1, line.endsWith("|") ? -1 : undefined)
      .split(/(?<!\\)\|/)
      .map((c) => c.trim());
    const names = [...(cells[0] ?? "").matchAll(/`([^`]+)`/g)]
      .map((m) => m[1] as string)
      .filter((n) => VAR.test(n));
    if (names.length) rows.push({ names, cells, line: i + 1 });
  }
  return rows;
}

describe("the environment scan", () => {
  it("finds each way the code reads a variable, and skips writes", () => {
    const reads = scanScripts([
      {
        file: "a.ts",
        text: [
          'import { z } from "zod";',
          "const Env = z.object({ ZOD_ONE: z.string().default('x'), ZOD_TWO: z.coerce.number() });",
          "const Contract = z.object({ run_id: z.string(), SHOUT: z.string() });",
          "function raw(env, name) { return env[name]; }",
          "export function envString(env, name, fallback) { return raw(env, name) ?? fallback; }",
          "function perType(env, name, type) { return envString(env, `#{name}_#{type}`, envString(env, name, '')); }",
          "function port(name, fallback) { const v = process.env[name]; return v ? Number(v) : fallback; }",
          'const a = process.env.DIRECT_DOT ?? "d";',
          'const b = process.env["DIRECT_INDEX"];',
          "const c = envString(env, 'HELPER_READ', '');",
          "const d = perType(this.env, 'PER_TYPE', spec.model_type);",
          "const e = envString(env, `LITERAL_#{type}`, '');",
          "const f = port('PORT_READ', 1);",
          "const g = options.env.OPTIONS_ENV;",
          "const h = serviceEnv.SOME_ENV;",
          "process.env.DEFAULTED ??= 'true';",
          "process.env.WRITTEN_ONLY = 'x';",
          "env.ALSO_WRITTEN = 'y';",
          "env[`WRITTEN_#{type}`] = 'z';",
          "const notEnv = config.NOT_AN_ENV;",
        ]
          .join("\n")
          // `#{…}` stands for a template placeholder (kept out of plain strings for the linter).
          .replaceAll("#{", "\u0024{"),
      },
    ]);
    const names = [...new Set(reads.map((r) => r.name))].sort();
    expect(names).toEqual(
      [
        "ZOD_ONE",
        "ZOD_TWO",
        "DIRECT_DOT",
        "DIRECT_INDEX",
        "HELPER_READ",
        "PER_TYPE",
        "PER_TYPE_<TYPE>",
        "LITERAL_<TYPE>",
        "PORT_READ",
        "OPTIONS_ENV",
        "SOME_ENV",
        "DEFAULTED",
      ].sort(),
    );
    const py = scanPython([
      {
        file: "a.py",
        text: [
          'x = os.environ.get("PY_GET", "1")',
          "y = os.environ['PY_INDEX']",
          'z = os.getenv("PY_GETENV")',
          'os.environ["PY_WRITE"] = "1"',
        ].join("\n"),
      },
    ]);
    expect(py.map((r) => r.name).sort()).toEqual(["PY_GET", "PY_GETENV", "PY_INDEX"]);
  });

  it("reads the README table's rows", () => {
    const rows = configTable(
      [
        "## Configuration",
        "",
        "| variable | default | read by |",
        "|---|---|---|",
        "| `A_ONE`, `A_ONE_<TYPE>` | `x` | stage |",
        "| not a variable | - | - |",
        "## Next",
        "| `B_TWO` | 1 | - |",
      ].join("\n"),
    );
    expect(rows.map((r) => r.names)).toEqual([["A_ONE", "A_ONE_<TYPE>"]]);
    expect(rows[0]?.cells).toEqual(["`A_ONE`, `A_ONE_<TYPE>`", "`x`", "stage"]);
  });
});

describe("README.md configuration table", () => {
  const reads = codeReads();
  const rows = configTable(readFileSync(join(root, "README.md"), "utf8"));
  const documented = new Set(rows.flatMap((r) => r.names));

  it("the scan sees the settings of every stage, the service, the local tools, infra and the trainer", () => {
    for (const name of [
      "KAFKA_BROKERS", // COMMON_SETTINGS (functions/common/config.ts)
      "QUEUE_MAX", // the manifest's SERVICE settings (functions/inference/config.ts)
      "WINDOW", // preprocess's manifest settings
      "TRAINER_BACKEND", // train-dispatch's manifest settings
      "ECS_CAPACITY_PROVIDER_<TYPE>", // a per-type setting of train-dispatch
      "ECS_CLUSTER_<TYPE>",
      "PROMOTION_POLICY", // evaluate's manifest settings
      "FLTS_KAFKA_PORT", // local/services/env.ts (port helper)
      "FLTS_CACHE_DIR", // local/paths.ts (process.env)
      "CDK_DEFAULT_REGION", // infra/config.ts (env.X)
      "FLTS_TORCH_THREADS", // functions/train (os.environ.get)
    ]) {
      expect(reads.has(name), `${name} not found by the scan`).toBe(true);
    }
  });

  it("has a row for every variable the code reads", () => {
    const missing = [...reads.keys()]
      .filter((name) => !documented.has(name))
      .sort()
      .map((name) => `${name} (read in ${(reads.get(name) ?? []).join(", ")})`);
    expect(missing, `README.md's configuration table lacks:\n  ${missing.join("\n  ")}`).toEqual([]);
  });

  it("has no row for a variable nothing reads", () => {
    const stale = [...documented].filter((name) => !reads.has(name)).sort();
    expect(stale, `README.md documents variables no code reads: ${stale.join(", ")}`).toEqual([]);
  });

  it("gives every row a default and the stage or service that reads it", () => {
    expect(rows.length).toBeGreaterThan(40);
    const incomplete = rows
      .filter((r) => r.cells.length < 4 || !r.cells[1] || !r.cells[2] || !r.cells[3])
      .map((r) => `line ${r.line}: ${r.names.join(", ")}`);
    expect(incomplete, `rows without default, reader or meaning:\n  ${incomplete.join("\n  ")}`).toEqual([]);
    const twice = [...documented].filter((n) => rows.filter((r) => r.names.includes(n)).length > 1);
    expect(twice, "variables with more than one row").toEqual([]);
  });

  it("gives each declared setting the default its declaration has", () => {
    const shown = (value: unknown): string | null => {
      if (typeof value === "boolean") return value ? "1" : "0";
      if (typeof value === "number") return String(value);
      if (typeof value === "string") return value === "" ? null : value;
      if (Array.isArray(value)) return value.length ? value.join(",") : null;
      return null;
    };
    const wrong: string[] = [];
    let compared = 0;
    for (const [file, table] of declaredTables()) {
      for (const [name, setting] of Object.entries(table)) {
        if (typeof setting.fallback === "function") continue; // computed at load time (CPUs, ...)
        const expected = shown(setting.fallback);
        const row = rows.find((r) => r.names.includes(name));
        if (expected === null || !row) continue;
        compared++;
        if (!(row.cells[1] ?? "").includes(`\`${expected}\``))
          wrong.push(`${name} (${file}): README says ${row.cells[1]}, the declaration \`${expected}\``);
      }
    }
    expect(compared).toBeGreaterThan(40);
    expect(wrong, `README defaults that differ from the declarations:\n  ${wrong.join("\n  ")}`).toEqual([]);
  });

  it("the scan skips tests and dependencies", () => {
    const files = [...reads.values()].flat();
    expect(files.length).toBeGreaterThan(10);
    expect(files.filter((f) => /(^|\/)(test|tests|node_modules)\//.test(f) || /\.test\.ts$/.test(f))).toEqual(
      [],
    );
  });
});
