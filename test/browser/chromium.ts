/**
 * Headless Chromium for the browser tests: Debian's `chromium` package, installed with apt-get when
 * missing (as root), driven by puppeteer-core. Fails with a message saying what to do otherwise.
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import puppeteer, { type Browser, type Page } from "puppeteer-core";

const CANDIDATES = ["/usr/bin/chromium", "/usr/bin/chromium-browser"];

export function ensureChromium(): string {
  const configured = process.env.FLTS_CHROMIUM;
  if (configured) {
    if (!existsSync(configured)) throw new Error(`FLTS_CHROMIUM=${configured}: no such file`);
    return configured;
  }
  const found = CANDIDATES.find((p) => existsSync(p));
  if (found) return found;
  if (process.getuid?.() !== 0)
    throw new Error(
      "the browser tests need Chromium: run `sudo apt-get install -y chromium` (Debian/Ubuntu) or set FLTS_CHROMIUM to a Chromium binary",
    );
  process.stderr.write("[browser] installing Debian's chromium package (apt-get)...\n");
  try {
    execFileSync("apt-get", ["install", "-y", "--no-install-recommends", "chromium"], { stdio: "ignore" });
  } catch {
    execFileSync("apt-get", ["update"], { stdio: "ignore" });
    execFileSync("apt-get", ["install", "-y", "--no-install-recommends", "chromium"], { stdio: "ignore" });
  }
  const installed = CANDIDATES.find((p) => existsSync(p));
  if (!installed) throw new Error("apt-get installed chromium but no binary is at /usr/bin/chromium");
  return installed;
}

/** A page at `url` that records every console error, uncaught exception and failed request. */
export async function openPage(browser: Browser, url: string): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage();
  await page.setViewport({ width: 1400, height: 1300 });
  const errors: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(m.text());
  });
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("requestfailed", (r) => errors.push(`request failed: ${r.url()}`));
  await page.goto(url, { waitUntil: "load" });
  return { page, errors };
}

export function launchBrowser(): Promise<Browser> {
  return puppeteer.launch({
    executablePath: ensureChromium(),
    headless: true,
    // As root (containers, CI) Chromium refuses its sandbox; /dev/shm is small in containers.
    args: ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
  });
}
