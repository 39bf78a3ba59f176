/**
 * `npx tsx test/browser/shoot-console.ts <service url> [out.png]`: opens the console of a running
 * service (e.g. the one `npm run demo` leaves) in headless Chromium, waits until it has loaded,
 * prints any error it shows or logs, and writes a full-page screenshot (default
 * .flts/artifacts/console-demo.png). Exits 1 when the page reported an error.
 */
import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { repoRoot } from "../../local/paths.ts";
import { launchBrowser, openPage } from "./chromium.ts";

async function main(): Promise<number> {
  const [url, out = join(repoRoot, ".flts", "artifacts", "console-demo.png")] = process.argv.slice(2);
  if (!url || !/^https?:\/\//.test(url)) {
    process.stderr.write("usage: npx tsx test/browser/shoot-console.ts <http://host:port> [out.png]\n");
    return 2;
  }
  const browser = await launchBrowser();
  try {
    const { page, errors } = await openPage(browser, `${url.replace(/\/$/, "")}/console`);
    await page.waitForSelector("body[data-loaded=true], #errors p");
    const shown = await page.$eval("#errors", (e) => e.textContent ?? "");
    mkdirSync(dirname(out), { recursive: true });
    await page.screenshot({ path: out, fullPage: true });
    process.stdout.write(`${out}\n`);
    for (const e of [...errors, ...(shown ? [shown] : [])]) process.stderr.write(`page error: ${e}\n`);
    return errors.length || shown ? 1 : 0;
  } finally {
    await browser.close();
  }
}

main().then((code) => process.exit(code));
