#!/usr/bin/env node
// Open built book pages in headless Chromium and fail on any request that leaves the page's
// own files (http, https, ws...), on local files that fail to load, on JavaScript errors, and
// on plotly figures, formulas or widgets that did not render. Takes a screenshot of each page.
//
//   node scripts/check_offline.mjs [--screens DIR] [--slider] [PAGE.html ...]
//
// Default pages: every .html under _build/html/book. Needs `npm ci` (playwright-core, a
// devDependency) and a Chromium binary: $CHROMIUM, else chromium / chromium-browser /
// google-chrome on PATH (Debian: apt-get install chromium). No browser is downloaded.
import { chromium } from "playwright-core";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, statSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

const LOCAL_SCHEMES = new Set(["file:", "data:", "blob:", "about:", "chrome-extension:"]);
// sphinx-thebe 0.3.1 declares THEBE_JS_URL twice on every page; harmless, see ecosystem notes
const KNOWN_PAGE_ERRORS = [/THEBE_JS_URL/];
const FLAGS = [
  "--no-sandbox",
  "--disable-gpu-sandbox",
  "--disable-quic",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-default-apps",
  "--no-first-run",
  "--no-default-browser-check",
  "--metrics-recording-only",
  "--disable-domain-reliability",
  "--enable-unsafe-swiftshader", // WebGL2 for NiiVue without a GPU
  "--use-angle=swiftshader",
];

function parseArgs(argv) {
  const opts = { screens: null, slider: false, pages: [], settle: 4000 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--screens") opts.screens = argv[++i];
    else if (a === "--slider") opts.slider = true;
    else if (a === "--settle") opts.settle = Number(argv[++i]);
    else if (a === "-h" || a === "--help") {
      console.log("usage: node scripts/check_offline.mjs [--screens DIR] [--slider] [--settle MS] [PAGE.html ...]");
      process.exit(0);
    } else opts.pages.push(a);
  }
  if (opts.pages.length === 0) {
    const dir = "_build/html/book";
    if (!existsSync(dir)) {
      console.error(`check_offline: no pages given and ${dir} does not exist (build the book first)`);
      process.exit(2);
    }
    opts.pages = readdirSync(dir).filter((f) => f.endsWith(".html")).sort().map((f) => join(dir, f));
  }
  return opts;
}

function findChromium() {
  if (process.env.CHROMIUM) return process.env.CHROMIUM;
  for (const name of ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"]) {
    try {
      return execFileSync("which", [name], { encoding: "utf8" }).trim();
    } catch {
      /* try the next one */
    }
  }
  console.error("check_offline: no Chromium found; set $CHROMIUM or apt-get install chromium");
  process.exit(2);
}

// What rendered on the page, counted in the browser.
async function pageCounts(page) {
  return page.evaluate(() => {
    const q = (s) => document.querySelectorAll(s).length;
    const hasPlotly = typeof window.Plotly !== "undefined";
    return {
      plotlyDivs: q("div.plotly-graph-div"),
      plotlyRendered: q("div.plotly-graph-div.js-plotly-plot"),
      plotlyGlobal: hasPlotly,
      mathNodes: q(".math"),
      mathRendered: q("mjx-container"),
      widgetViews: q('script[type="application/vnd.jupyter.widget-view+json"]'),
      widgetsRendered: q(".jupyter-widgets, .widget-subarea > *, .jp-OutputArea-output .widget"),
      canvases: q("canvas"),
      images: q("img"),
      brokenImages: Array.from(document.images).filter((im) => im.complete && im.naturalWidth === 0).length,
    };
  });
}

// Click on the first plotly slider's rail and check that a different trace became visible.
async function sliderCheck(page) {
  const rail = await page.$("div.plotly-graph-div g.slider-container rect.slider-rail-rect");
  if (!rail) return { skipped: "no plotly slider on page" };
  await rail.scrollIntoViewIfNeeded();
  const visibleIndex = () =>
    page.evaluate(() => {
      const gd = document.querySelector("div.plotly-graph-div.js-plotly-plot");
      return gd.data.findIndex((t) => t.visible === true && t.type === "heatmap");
    });
  const before = await visibleIndex();
  // the far end of the rail that is not the current step
  const frac = before > 0 ? 0.02 : 0.98;
  let after = before;
  // on a busy machine the first click can land while the page is still laying out: retry
  for (let attempt = 0; attempt < 3 && after === before; attempt++) {
    await rail.scrollIntoViewIfNeeded();
    const box = await rail.boundingBox();
    await page.mouse.click(box.x + box.width * frac, box.y + box.height / 2);
    for (let i = 0; i < 20 && after === before; i++) {
      await page.waitForTimeout(100); // plotly moves the grip first, then restyles
      after = await visibleIndex();
    }
  }
  return { before, after, changed: before !== after };
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.screens) mkdirSync(opts.screens, { recursive: true });
  const browser = await chromium.launch({ executablePath: findChromium(), args: FLAGS, headless: true });
  let failed = false;
  for (const p of opts.pages) {
    const file = resolve(p);
    if (!existsSync(file)) {
      console.error(`FAIL ${p}: no such file`);
      failed = true;
      continue;
    }
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const external = [];
    const localFailed = [];
    const pageErrors = [];
    const consoleErrors = [];
    await page.route("**/*", (route) => {
      const url = route.request().url();
      if (LOCAL_SCHEMES.has(new URL(url).protocol)) return route.continue();
      external.push(url);
      return route.abort("blockedbyclient");
    });
    page.on("requestfailed", (req) => {
      const url = req.url();
      if (LOCAL_SCHEMES.has(new URL(url).protocol)) localFailed.push(`${url} (${req.failure()?.errorText})`);
    });
    page.on("pageerror", (err) => {
      if (!KNOWN_PAGE_ERRORS.some((re) => re.test(String(err)))) pageErrors.push(String(err));
    });
    page.on("console", (msg) => {
      if (msg.type() === "error") consoleErrors.push(msg.text());
    });
    const t0 = Date.now();
    await page.goto(pathToFileURL(file).href, { waitUntil: "load", timeout: 60000 });
    await page.waitForTimeout(opts.settle); // widgets, NiiVue and MathJax render after load
    const counts = await pageCounts(page);
    if (opts.screens) {
      // Tall viewports instead of fullPage (whose stitching repeats the theme's sticky
      // header); headless Chromium repeats content past ~8000 px, so long pages come in parts.
      const height = await page.evaluate(() => document.documentElement.scrollHeight);
      const part = 6000;
      const n = Math.ceil(height / part);
      await page.setViewportSize({ width: 1280, height: Math.min(Math.max(height, 900), part) });
      counts.screenshots = [];
      for (let k = 0; k < n; k++) {
        await page.evaluate((y) => window.scrollTo(0, y), k * part);
        await page.waitForTimeout(800);
        const suffix = n > 1 ? `-${k + 1}` : "";
        const shot = join(opts.screens, basename(file, ".html") + suffix + ".png");
        await page.screenshot({ path: shot });
        counts.screenshots.push(shot);
      }
      // close-ups of what a reader looks at: plotly figures and WebGL canvases (NiiVue)
      await page.setViewportSize({ width: 1280, height: 900 });
      for (const [kind, selector] of [["plotly", "div.plotly-graph-div"], ["canvas", "canvas"]]) {
        const elements = await page.$$(selector);
        for (let k = 0; k < elements.length; k++) {
          await elements[k].scrollIntoViewIfNeeded();
          await page.waitForTimeout(400);
          const shot = join(opts.screens, `${basename(file, ".html")}-${kind}-${k + 1}.png`);
          await elements[k].screenshot({ path: shot });
          counts.screenshots.push(shot);
        }
      }
    }
    const slider = opts.slider ? await sliderCheck(page) : null; // after the screenshots
    const problems = [];
    if (external.length) problems.push(`${external.length} external request(s): ${[...new Set(external)].join(", ")}`);
    if (localFailed.length) problems.push(`${localFailed.length} local file(s) failed: ${localFailed.join(", ")}`);
    if (pageErrors.length) problems.push(`page errors: ${pageErrors.join(" | ")}`);
    if (counts.plotlyDivs !== counts.plotlyRendered)
      problems.push(`plotly: ${counts.plotlyRendered}/${counts.plotlyDivs} figures rendered (global Plotly: ${counts.plotlyGlobal})`);
    if (counts.mathNodes > 0 && counts.mathRendered === 0) problems.push(`math: ${counts.mathNodes} formula(s), none rendered`);
    if (counts.brokenImages) problems.push(`${counts.brokenImages} broken image(s)`);
    if (slider && slider.changed === false) problems.push(`plotly slider click did not change the slice (${JSON.stringify(slider)})`);
    const sizeKb = Math.round(statSync(file).size / 1024);
    const status = problems.length ? "FAIL" : "ok  ";
    console.log(`${status} ${p} (${sizeKb} KB, ${Date.now() - t0} ms) ${JSON.stringify({ ...counts, slider })}`);
    for (const prob of problems) console.log(`     - ${prob}`);
    if (consoleErrors.length) console.log(`     console errors (not fatal): ${consoleErrors.slice(0, 5).join(" | ")}`);
    failed ||= problems.length > 0;
    await context.close();
  }
  await browser.close();
  process.exit(failed ? 1 : 0);
}

main().catch((err) => {
  console.error(err);
  process.exit(2);
});
