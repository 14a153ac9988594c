// Evaluates a serialized dynamic provider (the `__provider` input Pulumi records) the way the engine's
// provider host does, then runs the steps given on stdin against it and prints their results as JSON.
"use strict";
const requireFromString = require("require-from-string");

let input = "";
process.stdin.on("data", (chunk) => (input += chunk));
process.stdin.on("end", async () => {
  const { source, steps } = JSON.parse(input);
  const provider = requireFromString(source).handler();
  const results = [];
  try {
    for (const step of steps) {
      const args = step.args.map((arg) =>
        arg && arg.$result !== undefined ? pick(results[arg.$result], arg.path) : arg,
      );
      results.push((await provider[step.method](...args)) ?? null);
    }
    process.stdout.write(JSON.stringify({ results }));
  } catch (error) {
    process.stdout.write(JSON.stringify({ results, error: String(error && error.message) }));
  }
});

function pick(value, path) {
  return (path || []).reduce((v, key) => v[key], value);
}
