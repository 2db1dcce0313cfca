// Differential-test peer: node-semver's compare() (strict mode), the order npm uses.
// Reads "A<TAB>B" lines on stdin, writes "<", "=", ">" or "E reason".
const semver = require("semver");
const lines = require("fs").readFileSync(0, "utf8").split("\n");
const out = [];
for (const line of lines) {
  const tab = line.indexOf("\t");
  if (tab < 0) continue;
  const a = line.slice(0, tab), b = line.slice(tab + 1);
  try {
    const r = semver.compare(a, b);
    out.push(r < 0 ? "<" : r > 0 ? ">" : "=");
  } catch (e) {
    out.push("E " + String(e.message).replace(/\n/g, " "));
  }
}
process.stdout.write(out.join("\n") + (out.length ? "\n" : ""));
