// bench/study/js_coverage.js — which lines of the page's JavaScript (report/page/*.js) no test ran.
//   node bench/study/js_coverage.js [--browser FILE]... [--node DIR]... [--list]
// --browser FILE: what tests/cdp.js appended with NNFMRI_JS_COVERAGE=FILE set (the browser tests).
// --node DIR: what NODE_V8_COVERAGE=DIR left (the page's unit tests under node --test).
// A script's ranges that ran are moved onto the file whose text the script holds (the page inlines
// each file in its own <script>); a line counts as run when any of its non-blank characters ran. Lines
// of a lone bracket are not counted. Beside the lines, the stretches that did not run on lines that did
// (a branch of an if or ?:, a callback never called). --list prints both, each unrun line with the
// function around it.
"use strict";
const fs = require("fs");
const path = require("path");

const args = { browser: [], node: [], list: false };
for (let i = 2; i < process.argv.length; ++i) {
  const a = process.argv[i];
  if (a === "--browser") args.browser.push(process.argv[++i]);
  else if (a === "--node") args.node.push(process.argv[++i]);
  else if (a === "--list") args.list = true;
  else { console.error("js_coverage: unknown argument " + a + " (expected --browser FILE, --node DIR, --list)"); process.exit(2); }
}

const root = path.resolve(__dirname, "..", "..");
const pageDir = path.join(root, "report", "page");
const files = fs.readdirSync(pageDir).filter((f) => f.endsWith(".js")).map((f) => {
  const text = fs.readFileSync(path.join(pageDir, f), "utf8");
  return { name: "report/page/" + f, text, ran: new Uint8Array(text.length) };
});

// Marks file characters that ran, given a script's source and its ran ranges [start, end).
function credit(source, ran) {
  for (const file of files) {
    let shift;
    const at = source.indexOf(file.text);
    if (at >= 0) shift = -at;
    else {
      const inside = file.text.indexOf(source);
      if (inside < 0 || source.length < 200) continue;
      shift = inside;
    }
    for (const [s, e] of ran)
      for (let i = Math.max(0, s + shift); i < Math.min(file.text.length, e + shift); ++i) file.ran[i] = 1;
  }
}

// V8's precise coverage of one script → the ranges [start, end) that ran. Each character takes the count
// of the innermost range holding it: V8 lists a function's ranges outermost first and functions in
// source order, so painting them in order leaves the innermost.
function ranRanges(source, functions) {
  const count = new Array(source.length).fill(0);
  for (const f of functions) for (const r of f.ranges) count.fill(r.count, r.startOffset, Math.min(r.endOffset, source.length));
  const ran = [];
  for (let i = 0; i < count.length; ++i)
    if (count[i] > 0) {
      if (ran.length && ran[ran.length - 1][1] === i) ran[ran.length - 1][1] = i + 1;
      else ran.push([i, i + 1]);
    }
  return ran;
}

for (const file of args.browser)
  for (const line of fs.readFileSync(file, "utf8").split("\n")) {
    if (!line) continue;
    const { source, functions } = JSON.parse(line);
    credit(source, ranRanges(source, functions));
  }
for (const dir of args.node)
  for (const f of fs.readdirSync(dir)) {
    for (const script of JSON.parse(fs.readFileSync(path.join(dir, f), "utf8")).result) {
      if (!script.url.startsWith("file://") || !script.url.includes("/report/page/")) continue;
      const source = fs.readFileSync(new URL(script.url), "utf8");
      credit(source, ranRanges(source, script.functions));
    }
  }

let all = 0, allRun = 0;
for (const file of files) {
  const lines = file.text.split("\n");
  let offset = 0, counted = 0, run = 0, fn = "(top level)";
  const unrun = [];
  lines.forEach((text, i) => {
    const m = text.match(/function\s*\*?\s*([A-Za-z_$][\w$]*)\s*\(/) || text.match(/(?:const|let)\s+([A-Za-z_$][\w$]*)\s*=\s*(?:async\s*)?\(/);
    if (m) fn = m[1];
    const body = text.trim();
    if (body && !/^[{}()[\];,]+$/.test(body) && !body.startsWith("//")) {
      ++counted;
      let hit = false;
      for (let j = 0; j < text.length && !hit; ++j) if (text[j] !== " " && file.ran[offset + j]) hit = true;
      if (hit) ++run;
      else unrun.push({ line: i + 1, fn, text: body });
    }
    offset += text.length + 1;
  });
  // unrun stretches inside lines that ran (a branch of an if or a ?: on a line whose other part ran)
  const partial = [];
  for (let i = 0, line = 1; i < file.text.length; ++i) {
    if (file.text[i] === "\n") { ++line; continue; }
    if (file.ran[i] || !/[\w$]/.test(file.text[i])) continue;
    let j = i;
    while (j < file.text.length && !file.ran[j] && file.text[j] !== "\n") ++j;
    if (!unrun.some((u) => u.line === line)) partial.push({ line, text: file.text.slice(i, j).trim() });
    i = j - 1;
  }
  file.partial = partial;
  all += counted;
  allRun += run;
  console.log(file.name + ": " + run + " of " + counted + " lines ran (" + (100 * run / Math.max(1, counted)).toFixed(1) + "%); " +
              partial.length + " unrun stretches on lines that ran");
  if (args.list) {
    for (const u of unrun) console.log("  " + u.line + " [" + u.fn + "] " + u.text.slice(0, 110));
    for (const p of partial) console.log("  " + p.line + " (part) " + p.text.slice(0, 110));
  }
}
console.log("all: " + allRun + " of " + all + " lines ran (" + (100 * allRun / Math.max(1, all)).toFixed(1) + "%)");
