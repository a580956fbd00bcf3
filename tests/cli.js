// tests/cli.js — what the node test and bench scripts share: `--flag value` arguments, and the tally
// of checks that ends in "<tool>: N passed, M failed".
"use strict";

// process.argv's `--key value` pairs over `defaults` (keys outside it are refused: exit 2).
function parseArgs(defaults, tool) {
  const args = { ...defaults };
  for (let i = 2; i < process.argv.length; i += 2) {
    const key = process.argv[i].replace(/^--/, "");
    if (!(key in args) || i + 1 >= process.argv.length) {
      console.error(tool + ": error: unknown flag or missing value '" + process.argv[i] + "'");
      process.exit(2);
    }
    args[key] = process.argv[i + 1];
  }
  return args;
}

// check(ok, what, detail) prints "  ok   what (detail)" or "  FAIL …"; finish(promise) prints the tally
// once the promise settles (a rejection is one more failure) and exits 1 when anything failed.
function checks(tool) {
  let passed = 0, failed = 0;
  const check = (ok, what, detail) => {
    if (ok) passed++;
    else failed++;
    console.log((ok ? "  ok   " : "  FAIL ") + what + (detail !== undefined ? "  (" + detail + ")" : ""));
  };
  const finish = (promise) => promise.then(() => {
    console.log(tool + ": " + passed + " passed, " + failed + " failed");
    process.exit(failed ? 1 : 0);
  }, (error) => {
    console.log("  FAIL " + error.message);
    console.log(tool + ": " + passed + " passed, " + (failed + 1) + " failed");
    process.exit(1);
  });
  return { check, finish };
}

module.exports = { parseArgs, checks };
