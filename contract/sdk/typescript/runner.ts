/**
 * A tiny test runner for the SDK scenario: named steps, assertions, an exit
 * status. Package-free on purpose (no test framework, no @types/node), so the
 * check needs nothing beyond the pinned TypeScript compiler and Node 20.
 */

// The two Node globals we use; declared here because @types/node is not installed.
declare const process: {
  env: Record<string, string | undefined>;
  exitCode?: number;
};

export class CheckFailed extends Error {}

export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new CheckFailed(message);
}

export function assertEqual<T>(actual: T, expected: T, what: string): void {
  assert(
    Object.is(actual, expected),
    `${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`,
  );
}

export function requireEnv(name: string): string {
  const value = process.env[name];
  assert(value, `${name} is not set (run under scripts/live_stack.py)`);
  return value;
}

/** The response's ETag header; fails if there is none. */
export function etagOf(response: Response): string {
  const etag = response.headers.get("ETag");
  assert(etag, `no ETag on ${response.url}`);
  return etag;
}

/** A create's answer: 201, a body, a Location naming the new item; (the item, its ETag). */
export function created<T extends { id: string }>(
  response: Response,
  item: T | undefined,
  collection: string,
): { item: T; etag: string } {
  assertEqual(response.status, 201, "status");
  assert(item, "no body");
  assertEqual(response.headers.get("Location"), `${collection}/${item.id}`, "Location");
  return { item, etag: etagOf(response) };
}

export const sleep = (seconds: number) =>
  new Promise<void>((resolve) => setTimeout(resolve, seconds * 1000));

/** Runs one named step, printing `ok`/`FAIL` so a failure says where it happened. */
export async function step<T>(name: string, body: () => Promise<T>): Promise<T> {
  try {
    const result = await body();
    console.log(`  ok    ${name}`);
    return result;
  } catch (error) {
    console.log(`  FAIL  ${name}`);
    throw error;
  }
}

/** Runs a scenario and sets the exit status: 0 only if every step passed. */
export async function run(name: string, scenario: () => Promise<void>): Promise<void> {
  console.log(name);
  try {
    await scenario();
    console.log(`PASS ${name}`);
  } catch (error) {
    // stdout, like the step lines, so a merged log keeps the order.
    console.log(error instanceof CheckFailed ? `        ${error.message}` : error);
    console.log(`FAIL ${name}`);
    process.exitCode = 1;
  }
}
