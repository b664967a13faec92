// Opens one deferprof page (-f html or deferprof diff -f html) in Debian's
// chromium, headless, through puppeteer-core (the DevTools protocol), and
// checks it as a person would: the frames drawn by name, a tooltip, a
// search and its share, a zoom, the icicle view, the thread selector or the
// diff's colours and table, no console error, no request leaving the file.
// Prints "ok NAME: detail" or "FAIL NAME: detail" per check; exit 1 on any
// failure. Usage (tests/browser/run.sh passes these):
//   node check-page.mjs --chromium PATH --page FILE.html --kind profile|diff
//        --expect a,b,c --search TERM --zoom NAME --screenshot OUT.png
//        [--json PROFILE.json] [--thread NAME:FUNC:ABSENT]
//        [--red NAME] [--blue NAME] [--orange NAME] [--table-down NAME] [--table-up NAME]
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";

const require = createRequire(process.env.DP_NODE_MODULES + "/");
const puppeteer = require("puppeteer-core");

const args = {};
for (let i = 2; i < process.argv.length; i += 2)
	args[process.argv[i].replace(/^--/, "")] = process.argv[i + 1];
for (const k of ["chromium", "page", "kind", "expect", "search", "zoom", "screenshot"]) {
	if (!args[k]) {
		console.log(`FAIL usage: --${k} is missing`);
		process.exit(2);
	}
}

let failures = 0;
const ok = (name, detail) => console.log(`ok ${name}: ${detail}`);
const bad = (name, detail) => {
	console.log(`FAIL ${name}: ${detail}`);
	failures++;
};
const check = (cond, name, good, why) => (cond ? ok(name, good) : bad(name, why));

const WAIT = { timeout: 30000, polling: 100 };

/*
 * A big page (tests/browser/big-page.py): how long until it is drawn, how
 * many frames the view keeps (frames under a pixel are pruned from the
 * drawing, not from the data), and how long a search and a zoom take.
 */
async function measure(page, t0) {
	const limit = +(args["limit-ms"] || 20000);
	await page.waitForFunction((n) => [...document.querySelectorAll("#dp-chart g.frame")]
		.some((g) => g.getAttribute("name") === n), { timeout: 120000, polling: 100 }, args.expect);
	await settled(page);
	const drawnMs = Date.now() - t0;
	const counts = await page.evaluate(() => ({
		drawn: document.querySelectorAll("#dp-chart g.frame").length,
		nodes: d3.select("#dp-chart").datum().descendants().length,
		stacks: JSON.parse(document.getElementById("dp-data").textContent).stacks.length,
	}));
	check(drawnMs < limit && counts.drawn < counts.nodes, "big-draw",
	      `${counts.stacks} stacks, ${counts.nodes} frames in the tree, ${counts.drawn} drawn: ${drawnMs} ms from load to drawn`,
	      `${drawnMs} ms (limit ${limit}), ${counts.drawn} of ${counts.nodes} frames drawn`);
	let t = Date.now();
	await page.type("#dp-search", args.search);
	const found = await page.waitForFunction(() => document.getElementById("dp-search-result").textContent,
						 { timeout: 120000, polling: 50 }).then((h) => h.jsonValue(), () => "");
	const searchMs = Date.now() - t;
	check(/covering \d+ of \d+ samples/.test(found), "big-search", `${searchMs} ms: ${found}`, `no result: ${found}`);
	t = Date.now();
	await page.click(`#dp-chart g.frame[name="${args.expect}"] rect`);
	await settled(page);
	check(true, "big-zoom", `${Date.now() - t} ms until the zoom settled`, "");
}

/* Until d3's transitions are over: every frame's place and width the same two polls running. */
async function settled(page) {
	const shape = () => page.evaluate(() => [...document.querySelectorAll("#dp-chart g.frame")]
		.map((g) => g.getAttribute("transform") + g.querySelector("rect").getAttribute("width")).join());
	let last = await shape();
	for (let i = 0; i < 300; i++) {
		await new Promise((r) => setTimeout(r, 100));
		const now = await shape();
		if (now === last)
			return;
		last = now;
	}
}
const url = "file://" + path.resolve(args.page);
const browser = await puppeteer.launch({
	executablePath: args.chromium,
	headless: true,
	args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"],
});
const consoleErrors = [], outside = [];
try {
	const page = await browser.newPage();
	await page.setViewport({ width: 1400, height: 900 });
	page.on("console", (m) => { if (m.type() === "error") consoleErrors.push(m.text()); });
	page.on("pageerror", (e) => consoleErrors.push(String(e)));
	await page.setRequestInterception(true);
	page.on("request", (r) => {
		if (r.url() === url || r.url().startsWith("data:"))
			r.continue();
		else {
			outside.push(r.url());
			r.abort();
		}
	});
	const t0 = Date.now();
	await page.goto(url, { waitUntil: "load" });
	await page.waitForSelector("html[data-dp-ready='1']", { timeout: 120000 });
	if (args.kind === "big") {
		await measure(page, t0);
		throw null;	/* nothing else to check on this page */
	}

	/* A drawn frame: a <g name=...> whose rect is at least a pixel wide and whose label shows its name. */
	const drawn = (names) => page.evaluate((ns) => ns.filter((n) => {
		for (const g of document.querySelectorAll("#dp-chart g.frame")) {
			if (g.getAttribute("name") !== n)
				continue;
			const r = g.querySelector("rect");
			if (r && parseFloat(r.getAttribute("width")) >= 1)
				return true;
		}
		return false;
	}), names);
	const expect = args.expect.split(",");
	try {
		await page.waitForFunction((ns) => ns.every((n) => [...document.querySelectorAll("#dp-chart g.frame")]
			.some((g) => g.getAttribute("name") === n &&
			      parseFloat(g.querySelector("rect").getAttribute("width")) >= 1)), WAIT, expect);
	} catch (e) { /* reported below */ }
	const have = await drawn(expect);
	check(have.length === expect.length, "frames-drawn",
	      `${have.join(", ")} drawn (${Date.now() - t0} ms to draw)`,
	      `missing ${expect.filter((n) => !have.includes(n)).join(", ")}`);
	/* Labels are written after the transition: wait for the widest expected frame's. */
	const labelled = await page.waitForFunction((n) => [...document.querySelectorAll("#dp-chart g.frame")]
		.some((g) => g.getAttribute("name") === n &&
		      g.querySelector(".d3-flame-graph-label").textContent === n), WAIT, expect[0])
		.then(() => true, () => false);
	check(labelled, "label", `${expect[0]} labelled by name`, `${expect[0]} has no label`);
	await settled(page);
	await page.screenshot({ path: args.screenshot, fullPage: true });
	ok("screenshot", args.screenshot);

	const fill = (name) => page.evaluate((n) => {
		const g = [...document.querySelectorAll("#dp-chart g.frame")].find((x) => x.getAttribute("name") === n);
		return g ? g.querySelector("rect").getAttribute("fill") : null;
	}, name);
	const rgb = (s) => (s && s.match(/\d+/g) || []).map(Number);

	/* Tooltip: samples, percent, self, module, source line. */
	const hoverName = args.zoom;
	await page.hover(`#dp-chart g.frame[name="${hoverName}"] rect`);
	const tip = await page.waitForFunction(() => {
		const t = document.querySelector(".d3-flame-graph-tip");
		return t && t.style.display === "block" && t.textContent;
	}, WAIT).then((h) => h.jsonValue(), () => "");
	const tipRe = args.kind === "diff" ? /NEW: +\d+ samples \([\d.]+%\).*BASE: +\d+ samples.*change: [+-][\d.]+ percentage points/s :
		/samples: \d+ \([\d.]+%\), self: \d+ \([\d.]+%\)\nmodule: \S+/;
	check(tip.startsWith(hoverName) && tipRe.test(tip), "tooltip", JSON.stringify(tip),
	      `tooltip ${JSON.stringify(tip)} does not match ${tipRe}`);
	if (args.kind === "profile")
		check(/source: \S+\.c:\d+/.test(tip), "tooltip-source", "names file:line", `no source line in ${JSON.stringify(tip)}`);
	await page.mouse.move(1, 1);

	if (args.kind === "profile") {
		/* Kernel and user frames coloured apart: d3-flame-graph's orange (blue 0) and red (green = blue). */
		const kinds = await page.evaluate(() => {
			const out = { kernel: null, user: null };
			for (const g of document.querySelectorAll("#dp-chart g.frame")) {
				const f = d3.select(g).datum().data.frame;
				if (!f || f.inlined || f.marker)
					continue;
				const k = f.kernel ? "kernel" : "user";
				if (!out[k] && !f.name.includes("::"))
					out[k] = [f.name, g.querySelector("rect").getAttribute("fill")];
			}
			return out;
		});
		if (kinds.kernel && kinds.user) {
			const k = rgb(kinds.kernel[1]), u = rgb(kinds.user[1]);
			check(k[2] === 0 && u[1] === u[2] && u[0] > u[1], "kernel-user-colours",
			      `kernel ${kinds.kernel.join(" ")}, user ${kinds.user.join(" ")}`,
			      `kernel ${kinds.kernel.join(" ")}, user ${kinds.user.join(" ")}: not orange and red`);
		} else {
			bad("kernel-user-colours", `no drawn ${kinds.kernel ? "user" : "kernel"} frame`);
		}
	} else {
		for (const [k, test] of [["red", (c) => c[0] === 220 && c[1] === c[2] && c[1] < 220],
					 ["blue", (c) => c[2] === 220 && c[0] === c[1] && c[0] < 220],
					 ["orange", (c) => c[0] === 255 && c[1] === 190 && c[2] === 90]]) {
			if (!args[k])
				continue;
			const f = await fill(args[k]);
			check(test(rgb(f)), `diff-${k}`, `${args[k]} is ${f}`, `${args[k]} is ${f}, not ${k}`);
		}
		const rows = await page.evaluate(() => [...document.querySelectorAll("#dp-changes tr")].slice(1)
			.map((tr) => [tr.cells[0].textContent, tr.cells[3].className, tr.cells[3].textContent]));
		for (const [k, cls] of [["table-down", "dp-down"], ["table-up", "dp-up"]]) {
			if (!args[k])
				continue;
			const row = rows.find((r) => r[0].startsWith(args[k] + " "));
			check(row && row[1] === cls, k, row ? row.join(" ") : "", `${args[k]}: ${row ? row.join(" ") : "not in the table"}`);
		}
	}

	/* Search: the matching frames turn magenta, the line says what share they cover. */
	await page.type("#dp-search", args.search);
	const found = await page.waitForFunction(() => document.getElementById("dp-search-result").textContent, WAIT)
		.then((h) => h.jsonValue(), () => "");
	const m = found.match(/covering (\d+) of (\d+) samples \(([\d.]+)%\)/);
	let expected = null;
	if (args.json) {
		/* From the json export of the same run: samples of stacks with a matching frame. */
		const doc = JSON.parse(fs.readFileSync(args.json, "utf8"));
		const t = args.search.toLowerCase();
		const hit = doc.frames.map((f) => f.name.toLowerCase().includes(t) ||
					   (f.module || "").toLowerCase().includes(t));
		expected = doc.stacks.filter((s) => s.frames.some((i) => hit[i])).reduce((a, s) => a + s.samples, 0);
	}
	check(m && +m[1] > 0 && (expected === null || +m[1] === expected), "search-share", found,
	      `${JSON.stringify(found)}${expected !== null ? ", expected " + expected + " samples from the json" : ""}`);
	const hl = await page.evaluate((t) => {
		let on = 0, off = 0, wrong = 0;
		for (const g of document.querySelectorAll("#dp-chart g.frame")) {
			const match = g.getAttribute("name").toLowerCase().includes(t);
			const magenta = g.querySelector("rect").getAttribute("fill") === "#E600E6";
			if (match && magenta) on++;
			else if (!match && !magenta) off++;
			else if (match !== magenta && !(d3.select(g).datum().data.frame || {}).module?.toLowerCase().includes(t)) wrong++;
		}
		return { on, off, wrong };
	}, args.search.toLowerCase());
	check(hl.on > 0 && hl.wrong === 0, "search-highlight", `${hl.on} frames highlighted, ${hl.off} not`,
	      `${hl.on} highlighted, ${hl.wrong} wrongly`);
	await settled(page);
	await page.screenshot({ path: args.screenshot.replace(/\.png$/, "-search.png"), fullPage: true });

	/* Zoom: a click widens the frame to the whole chart; frames beside it go. */
	const chartWidth = await page.evaluate(() => +document.querySelector("#dp-chart svg").getAttribute("width"));
	const before = await page.evaluate(() => document.querySelectorAll("#dp-chart g.frame").length);
	await page.click(`#dp-chart g.frame[name="${args.zoom}"] rect`);
	const zoomed = await page.waitForFunction((n, w) => {
		const g = [...document.querySelectorAll("#dp-chart g.frame")].find((x) => x.getAttribute("name") === n);
		return g && Math.abs(parseFloat(g.querySelector("rect").getAttribute("width")) - w) < 0.5;
	}, WAIT, args.zoom, chartWidth).then(() => true, () => false);
	const after = await page.evaluate(() => document.querySelectorAll("#dp-chart g.frame").length);
	check(zoomed && after < before, "zoom", `${args.zoom} fills ${chartWidth}px; ${before} -> ${after} frames drawn`,
	      `${args.zoom} did not fill the chart (${zoomed}), ${before} -> ${after} frames`);
	await settled(page);
	await page.screenshot({ path: args.screenshot.replace(/\.png$/, "-zoom.png"), fullPage: true });
	await page.click("#dp-reset");
	const reset = await page.waitForFunction((n) => document.querySelectorAll("#dp-chart g.frame").length === n,
						 WAIT, before).then(() => true, () => false);
	check(reset, "reset-zoom", `${before} frames again`, "reset did not bring every frame back");

	/* Icicle: the root moves from the bottom row to the top one. */
	const rootY = () => page.evaluate(() => {
		const g = [...document.querySelectorAll("#dp-chart g.frame")].find((x) => x.getAttribute("name") === "all");
		return g ? +g.getAttribute("transform").match(/,\s*([-\d.]+)\)/)[1] : null;
	});
	const flameY = await rootY();
	await page.click("#dp-view-icicle");
	const icicle = await page.waitForFunction(() => {
		const g = [...document.querySelectorAll("#dp-chart g.frame")].find((x) => x.getAttribute("name") === "all");
		return g && +g.getAttribute("transform").match(/,\s*([-\d.]+)\)/)[1] === 0;
	}, WAIT).then(() => true, () => false);
	check(flameY > 0 && icicle, "icicle", `root row at y=${flameY}, then at the top`, `root at ${flameY}; icicle ${icicle}`);
	await page.click("#dp-view-flame");

	if (args.thread) {
		/* The selector: one thread's frames only. */
		const [tname, present, absent] = args.thread.split(":");
		const value = await page.evaluate((n) => {
			const o = [...document.querySelectorAll("#dp-thread option")].find((x) => x.textContent.includes(" " + n + ":"));
			return o ? o.value : null;
		}, tname);
		if (!value) {
			bad("thread-select", `no option for thread ${tname}`);
		} else {
			await page.select("#dp-thread", value);
			const only = await page.waitForFunction((p, a) => {
				const names = [...document.querySelectorAll("#dp-chart g.frame")].map((g) => g.getAttribute("name"));
				return names.includes(p) && !names.includes(a);
			}, WAIT, present, absent).then(() => true, () => false);
			check(only, "thread-select", `thread ${tname}: ${present} drawn, ${absent} not`,
			      `thread ${tname}: expected ${present} and not ${absent}`);
		}
	}
} catch (e) {
	if (e !== null)
		bad("page", String(e && e.stack || e));
} finally {
	await browser.close();
}
check(consoleErrors.length === 0, "console", "no errors", consoleErrors.join(" | "));
check(outside.length === 0, "offline", "nothing fetched besides the file", outside.join(" "));
process.exit(failures ? 1 : 0);
