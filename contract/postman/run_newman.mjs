/**
 * Runs the committed Postman collection with newman against GRAU_BASE_URL
 * (default: the environment's baseUrl), reporting to the console and to
 * build/newman/junit.xml.
 *
 *   GRAU_BASE_URL=http://127.0.0.1:5000 node contract/postman/run_newman.mjs
 *
 * Exits 1 unless every request ran, none failed, no assertion failed and every
 * request asserted something: newman itself exits 0 when nothing is asserted.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import newman from 'newman';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const COLLECTION = path.join(ROOT, 'postman/grau.postman_collection.json');
const ENVIRONMENT = path.join(ROOT, 'postman/grau.local.postman_environment.json');
const JUNIT = path.join(ROOT, 'build/newman/junit.xml');

const readJson = (file) => JSON.parse(readFileSync(file, 'utf8'));

function countRequests(items) {
  return items.reduce((sum, item) => sum + (item.item ? countRequests(item.item) : 1), 0);
}

function run(options) {
  return new Promise((resolve, reject) => {
    newman.run(options, (error, summary) => (error ? reject(error) : resolve(summary)));
  });
}

/** Why the run does not count as green, one line per reason (empty when green). */
function verdict(summary, expectedRequests) {
  const { stats, executions, failures } = summary.run;
  const reasons = [];
  if (summary.run.error) reasons.push(`the run stopped: ${summary.run.error.message ?? summary.run.error}`);
  if (executions.length !== expectedRequests) {
    reasons.push(`${executions.length} of the collection's ${expectedRequests} requests ran`);
  }
  if (stats.requests.failed) reasons.push(`${stats.requests.failed} requests failed to get a response`);
  if (stats.assertions.failed) reasons.push(`${stats.assertions.failed} assertions failed`);
  const scriptErrors = stats.testScripts.failed + stats.prerequestScripts.failed;
  if (scriptErrors) reasons.push(`${scriptErrors} scripts threw`);
  const silent = executions.filter((execution) => !(execution.assertions ?? []).length);
  for (const execution of silent) reasons.push(`"${execution.item.name}" asserted nothing`);
  if (!reasons.length && failures.length) reasons.push(`${failures.length} failures reported`);
  return reasons;
}

async function main() {
  const collection = readJson(COLLECTION);
  const environment = readJson(ENVIRONMENT);
  const baseUrl = process.env.GRAU_BASE_URL || environment.values.find((v) => v.key === 'baseUrl')?.value;
  if (!process.env.GRAU_BASE_URL) console.log(`GRAU_BASE_URL is not set: using the environment's ${baseUrl}`);
  mkdirSync(path.dirname(JUNIT), { recursive: true });

  const summary = await run({
    collection,
    environment,
    envVar: [{ key: 'baseUrl', value: baseUrl.replace(/\/+$/, '') }],
    reporters: ['cli', 'junit'],
    reporter: { junit: { export: JUNIT } },
    timeoutRequest: 30000,
  });

  const { stats, executions } = summary.run;
  const reasons = verdict(summary, countRequests(collection.item));
  const junit = path.relative(ROOT, JUNIT);
  console.log(`newman: ${executions.length} requests, ${stats.assertions.total} assertions against ${baseUrl} (junit: ${junit})`);
  for (const reason of reasons) console.error(`FAILED: ${reason}`);
  // The closing line CI reads: assertions passed and failed.
  console.log(`newman: ${stats.assertions.total - stats.assertions.failed} passed, ${stats.assertions.failed} failed`);
  return reasons.length ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(`newman could not run: ${error.message}`);
    process.exit(1);
  },
);
