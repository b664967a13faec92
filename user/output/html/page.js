/*
 * deferprof's page: draws the profile embedded in #dp-data (deferprof's JSON
 * document, or deferprof diff's) as a flame graph or icicle graph with
 * d3-flame-graph (window.flamegraph, inlined before this script). Click a
 * frame to zoom, search to highlight, pick a process or thread; a diff is
 * coloured by the change of each frame's share of all samples.
 */
(function () {
	"use strict";

	const fg = window.flamegraph;
	const data = JSON.parse(document.getElementById("dp-data").textContent);
	const isDiff = data.type === "diff";
	const page = document.getElementById("dp-page");

	function el(tag, attrs, ...kids) {
		const e = document.createElement(tag);
		for (const [k, v] of Object.entries(attrs || {})) {
			if (k === "class")
				e.className = v;
			else
				e.setAttribute(k, v);
		}
		for (const k of kids)
			e.append(k);
		return e;
	}
	const pct = (n, total) => total ? (100 * n / total).toFixed(2) + "%" : "0%";
	const plural = (n, one, many) => n + " " + (n === 1 ? one : many);

	/* ---- the trees d3-flame-graph draws: {name, value, children}, values inclusive ---- */

	function newNode(name, kind, frame) {
		return { name: name, value: 0, self: 0, kind: kind, frame: frame, kids: new Map() };
	}

	function child(parent, key, make) {
		let c = parent.kids.get(key);
		if (!c) {
			c = make();
			parent.kids.set(key, c);
		}
		return c;
	}

	/* Maps of children become arrays; libtype (l) picks the library's colours. */
	function finish(node) {
		const f = node.frame;
		if (f) {
			node.l = f.marker ? "marker" : f.kernel ? "kernel" : f.inlined ? "inlined" : "user";
		}
		node.children = Array.from(node.kids.values());
		delete node.kids;
		for (const c of node.children)
			finish(c);
		return node;
	}

	/* Adds one stack's count along its path; returns the leaf. */
	function addPath(node, frames, count) {
		node.value += count;
		for (const i of frames) {
			node = child(node, i, () => newNode(data.frames[i].name, "frame", data.frames[i]));
			node.value += count;
		}
		return node;
	}

	/* The profile for one selection: all, "p<pid>" or "t<thread index>". */
	function profileTree(sel) {
		const root = newNode("all", "root", null);
		const keep = (t) => sel === "all" || (sel[0] === "p" ? String(data.threads[t].pid) === sel.slice(1) :
									String(t) === sel.slice(1));
		const pids = new Set();
		data.threads.forEach((t, i) => { if (keep(i) && t.samples) pids.add(t.pid); });
		const byProcess = pids.size > 1;
		for (const s of data.stacks) {
			const perPid = new Map();
			for (const tc of s.threads) {
				if (!keep(tc.thread))
					continue;
				const pid = byProcess ? data.threads[tc.thread].pid : 0;
				perPid.set(pid, (perPid.get(pid) || 0) + tc.samples);
			}
			for (const [pid, n] of perPid) {
				let top = root;
				if (byProcess) {
					root.value += n;
					top = child(root, "p" + pid, () => newNode(processName(pid), "process", null));
				}
				addPath(top, s.frames, n).self += n;
			}
		}
		return finish(root);
	}

	function processName(pid) {
		const t = data.threads.find((x) => x.pid === pid && x.tid === pid) ||
			  data.threads.find((x) => x.pid === pid);
		return (t ? t.name : "?") + " (pid " + pid + ")";
	}

	/* The diff: widths from NEW, each frame's change in share as a delta in NEW's samples. */
	function diffTree() {
		const root = newNode("all", "root", null);
		root.base = 0;
		const scale = data.base.samples ? data.new.samples / data.base.samples : 0;
		for (const s of data.stacks) {
			let node = root;
			node.value += s.new;
			node.base += s.base;
			for (const i of s.frames) {
				node = child(node, i, () => {
					const n = newNode(data.frames[i].name, data.frames[i].comm ? "process" : "frame",
							  data.frames[i]);
					n.base = 0;
					n.baseSelf = 0;
					return n;
				});
				node.value += s.new;
				node.base += s.base;
			}
			node.self += s.new;
			node.baseSelf += s.base;
		}
		const setDelta = (n) => {
			n.d = n.value - n.base * scale;
			n.kids.forEach(setDelta);
		};
		setDelta(root);
		return finish(root);
	}

	/* ---- header ---- */

	function header() {
		if (isDiff) {
			const side = (label, s) => el("p", { class: "dp-meta" }, el("b", {}, label + ": "),
				s.file + " (" + s.kind + "): " + plural(s.samples, "sample", "samples") +
				(s.target ? ", " + s.target : "") + (s.mode ? ", " + s.mode + " mode" : ""));
			page.append(el("h1", {}, "deferprof diff: " + data.base.file + " \u2192 " + data.new.file),
				    side("BASE", data.base), side("NEW", data.new),
				    el("p", { class: "dp-meta" }, "Widths are NEW's samples; red: a larger share of " +
				       "all samples in NEW than in BASE, blue: smaller (shares normalize the two totals). " +
				       "Frames only in BASE have no width: see the table below."));
			return;
		}
		const m = data.metadata, t = data.totals;
		const rate = m.frequency_hz ? m.frequency_hz + " Hz" : "every " + m.period + " events";
		page.append(el("h1", {}, "deferprof: " + m.target.description),
			    el("p", { class: "dp-meta" }, el("b", {}, "mode "), m.mode + "  ", el("b", {}, " event "),
			       m.event + " at " + rate + "  ", el("b", {}, " duration "), m.duration_s.toFixed(2) + " s" +
			       (m.end_reason ? " (ended by " + m.end_reason + ")" : "") + "  ", el("b", {}, " started "),
			       m.start_time),
			    el("p", { class: "dp-meta" }, el("b", {}, "host "), m.host + "  ", el("b", {}, " kernel "),
			       m.kernel + "  ", el("b", {}, " samples "), t.samples + " in " +
			       plural(t.stacks, "stack", "stacks") + ", " + plural(t.threads, "thread", "threads")));
		const lost = Object.entries(data.losses).filter(([, v]) => v);
		const acc = t.bpf_samples + " samples seen by BPF = " + t.samples + " in stacks + " + t.dropped +
			    " dropped; " + t.user_stack_lost + " with the user stack lost; " +
			    (lost.length ? plural(lost.length, "loss counter", "loss counters") + " not zero" :
			     "every loss counter zero");
		const rows = Object.entries(data.losses).map(([k, v]) =>
			el("tr", {}, el("td", {}, k.replace(/_/g, " ")), el("td", {}, String(v))));
		page.append(el("details", { class: "dp-losses" + (lost.length || t.dropped ? " dp-bad" : "") },
			       el("summary", {}, "accounting: " + acc), el("table", {}, ...rows)));
	}

	/* ---- controls, chart, tooltips ---- */

	function legend() {
		const items = isDiff ?
			[["more in NEW", "rgb(220,120,120)"], ["less in NEW", "rgb(120,120,220)"],
			 ["only in NEW", "rgb(255,190,90)"], ["same share", "rgb(220,220,220)"]] :
			[["user", "rgb(228,90,90)"], ["C++/Rust user", "rgb(202,202,60)"],
			 ["kernel", "rgb(222,122,0)"], ["inlined", "rgb(80,192,192)"],
			 ["marker ([user stack lost])", "#9e9e9e"], ["process, all", "#b8c4d8"]];
		return el("div", { class: "dp-legend", id: "dp-legend" },
			  ...items.map(([n, c]) => el("span", { style: "--c:" + c }, n)));
	}

	function threadSelect() {
		const s = el("select", { id: "dp-thread" });
		const total = data.threads.reduce((a, t) => a + t.samples, 0);
		s.append(el("option", { value: "all" }, "all threads (" + total + " samples)"));
		const pids = [...new Set(data.threads.map((t) => t.pid))];
		for (const pid of pids) {
			const ts = data.threads.map((t, i) => [t, i]).filter(([t]) => t.pid === pid);
			const n = ts.reduce((a, [t]) => a + t.samples, 0);
			s.append(el("option", { value: "p" + pid }, "process " + processName(pid) + ": " + n + " samples"));
			for (const [t, i] of ts)
				s.append(el("option", { value: "t" + i }, "\u00a0\u00a0thread " + t.tid + " " + t.name +
					    ": " + t.samples + " samples"));
		}
		return s;
	}

	function frameLines(n) {
		const f = n.frame, lines = [];
		if (f) {
			lines.push("module: " + (f.module || "-") + "  (" + (f.marker ? "marker" : f.kernel ? "kernel" :
				   f.inlined ? "user, inlined" : "user") + (f.comm ? ", command name" : "") + ")");
			if (f.file)
				lines.push("source: " + f.file + (f.line ? ":" + f.line : ""));
		}
		return lines;
	}

	function tooltipText(root) {
		return (d) => {
			const n = d.data;
			const lines = [n.name];
			if (isDiff) {
				const nb = data.base.samples, nn = data.new.samples;
				const change = 100 * (n.value / nn - n.base / nb);
				lines.push("NEW:  " + n.value + " samples (" + pct(n.value, nn) + "), self " + n.self +
					   " (" + pct(n.self, nn) + ")");
				lines.push("BASE: " + n.base + " samples (" + pct(n.base, nb) + "), self " + n.baseSelf +
					   " (" + pct(n.baseSelf, nb) + ")");
				lines.push("change: " + (change >= 0 ? "+" : "") + change.toFixed(2) +
					   " percentage points of all samples");
			} else {
				lines.push("samples: " + n.value + " (" + pct(n.value, root.value) + "), self: " + n.self +
					   " (" + pct(n.self, root.value) + ")");
			}
			return lines.concat(frameLines(n)).join("\n");
		};
	}

	function colours(d, original) {
		if (d.highlight)
			return original;
		const n = d.data;
		if (n.kind === "root" || n.kind === "process")
			return "#b8c4d8";
		if (n.l === "marker")
			return "#9e9e9e";
		return original;
	}

	header();
	const search = el("input", { type: "search", id: "dp-search", placeholder: "function or module (substring)" });
	const controls = el("div", { class: "dp-controls" },
		el("label", {}, el("input", { type: "radio", name: "dp-view", value: "flame", id: "dp-view-flame",
					      checked: "" }), " flame graph"),
		el("label", {}, el("input", { type: "radio", name: "dp-view", value: "icicle", id: "dp-view-icicle" }),
		   " icicle graph"),
		el("label", {}, "search ", search),
		el("button", { type: "button", id: "dp-reset" }, "reset zoom"));
	const select = isDiff ? null : threadSelect();
	if (select)
		controls.append(el("label", {}, "show ", select));
	const details = el("div", { class: "dp-status", id: "dp-details" });
	const found = el("div", { class: "dp-status", id: "dp-search-result" });
	const chartDiv = el("div", { id: "dp-chart" });
	page.append(controls, legend(), found, details, chartDiv);

	let root = isDiff ? diffTree() : profileTree("all");
	const width = () => Math.max(400, chartDiv.clientWidth || page.clientWidth || 1200);
	const tip = fg.tooltip.defaultFlamegraphTooltip().text(tooltipText(root));
	const chart = fg.default()
		.width(width())
		.cellHeight(18)
		.transitionDuration(250)
		.minFrameSize(1)	/* frames under a pixel are not drawn; their samples still count */
		.sort(true)
		.resetHeightOnZoom(true)
		.tooltip(tip)
		.setDetailsElement(details)
		.label((d) => d.data.name + " (" + (isDiff ? "NEW " : "") + d.data.value + " samples, " +
		       pct(d.data.value, root.value) + ")")
		;
	const matches = (d, t) => {
		const f = d.data.frame;

		return d.data.name.toLowerCase().includes(t) ||
		       !!(f && f.module && f.module.toLowerCase().includes(t));
	};
	if (isDiff)
		chart.setColorMapper(fg.colorMapper.differentialColorMapper);
	else
		chart.setColorMapper(colours);

	function draw() {
		tip.text(tooltipText(root));
		d3.select(chartDiv).datum(root).call(chart);
		runSearch();
	}

	/*
	 * The search walks the drawn tree itself, parents before children, with
	 * no recursion and no spread of the results: d3-flame-graph's own search
	 * spreads every match into one call's arguments, which overflows the
	 * stack past about 100,000 matches. Samples are counted once, at the
	 * outermost match of each path.
	 */
	function runSearch() {
		const term = search.value.trim().toLowerCase();
		const h = d3.select(chartDiv).datum();
		let n = 0, sum = 0;

		if (!h || typeof h.eachBefore !== "function")
			return;
		h.eachBefore((d) => {
			d.highlight = !!term && matches(d, term);
			d.underMatch = !!d.parent && (d.parent.highlight || d.parent.underMatch);
			if (d.highlight) {
				n++;
				if (!d.underMatch)
					sum += d.data.value;
			}
		});
		found.textContent = term ? "search \u201c" + search.value.trim() + "\u201d: " +
			plural(n, "frame matches", "frames match") + ", covering " + sum + " of " +
			h.data.value + " samples (" + pct(sum, h.data.value) + ")" : "";
		chart.update();
	}

	if (!root.value) {
		chartDiv.append(el("p", {}, "The profile has no samples: nothing to draw."));
	} else {
		draw();
	}
	/* Typing: one walk when the typing pauses, not one per key (big profiles). */
	let searchTimer = null;
	search.addEventListener("input", () => {
		clearTimeout(searchTimer);
		searchTimer = setTimeout(runSearch, 150);
	});
	document.getElementById("dp-reset").addEventListener("click", () => chart.resetZoom());
	for (const r of document.querySelectorAll("input[name=dp-view]")) {
		r.addEventListener("change", () => {
			chart.inverted(r.value === "icicle" && r.checked);
			chart.update();
		});
	}
	if (select) {
		select.addEventListener("change", () => {
			root = profileTree(select.value);
			tip.text(tooltipText(root));
			chart.update(root);
			runSearch();
		});
	}
	window.addEventListener("resize", () => {
		chart.width(width());
		chart.update();
	});

	if (isDiff && data.functions) {
		const nb = data.base.samples, nn = data.new.samples;
		const sign = (x) => (x > 0 ? "+" : "") + x.toFixed(2);
		const rows = data.functions.map((f) => {
			const ds = 100 * (f.new_self / nn - f.base_self / nb);
			const dt = 100 * (f.new_total / nn - f.base_total / nb);
			const mod = f.module && f.module[0] === "[" ? f.module : "[" + (f.module || "-") + "]";
			return el("tr", {}, el("td", {}, f.name + " " + mod),
				  el("td", {}, pct(f.base_self, nb)), el("td", {}, pct(f.new_self, nn)),
				  el("td", { class: ds > 0 ? "dp-up" : ds < 0 ? "dp-down" : "" }, sign(ds)),
				  el("td", {}, pct(f.base_total, nb)), el("td", {}, pct(f.new_total, nn)),
				  el("td", { class: dt > 0 ? "dp-up" : dt < 0 ? "dp-down" : "" }, sign(dt)));
		});
		page.append(el("h1", {}, "Functions whose share changed most"),
			    el("table", { class: "dp-changes", id: "dp-changes" },
			       el("tr", {}, el("th", {}, "function [module]"), el("th", {}, "self BASE"),
				  el("th", {}, "self NEW"), el("th", {}, "\u0394 points"), el("th", {}, "total BASE"),
				  el("th", {}, "total NEW"), el("th", {}, "\u0394 points")), ...rows));
	}

	const lic = (id, name) => el("details", {}, el("summary", {}, name),
				     el("pre", {}, document.getElementById(id).textContent));
	page.append(el("div", { class: "dp-licenses" }, "Drawn with d3 and d3-flame-graph, inlined under their licenses:",
		       lic("dp-license-d3", "d3 (ISC license)"),
		       lic("dp-license-d3-flame-graph", "d3-flame-graph (Apache License 2.0)")));
	document.documentElement.setAttribute("data-dp-ready", "1");
}());
