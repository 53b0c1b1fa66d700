/**
 * Uses the client @hey-api/openapi-ts generates (build/sdk/hey-api, the generator the
 * FastAPI full-stack template uses) against the grau at GRAU_BASE_URL: register, log in,
 * create a body stat, list it in a date range, read it, update it with If-Match, see a
 * stale If-Match come back as a typed 412 problem, read the daily nutrition totals and
 * delete the stat. Run by contract/sdk/check.sh (`make sdk-check`).
 */
import { client } from "../../../build/sdk/hey-api/client.gen.js";
import {
  createBodyStat,
  createUser,
  deleteBodyStat,
  getBodyStat,
  getNutritionDailyTotals,
  listBodyStats,
  login,
  updateBodyStat,
} from "../../../build/sdk/hey-api/sdk.gen.js";
import type { BodyStat, Problem } from "../../../build/sdk/hey-api/types.gen.js";
import { assert, assertEqual, created, etagOf, requireEnv, run, step } from "../typescript/runner.js";

const PASSWORD = "correct horse battery staple";

/** A call's result with its response (hey-api leaves it undefined when fetch itself failed). */
async function answered<T extends { response?: Response }>(
  call: Promise<T>,
): Promise<T & { response: Response }> {
  const result = await call;
  assert(result.response, "no response: the request itself failed");
  return result as T & { response: Response };
}


async function scenario(): Promise<void> {
  let token = "";
  client.setConfig({ baseUrl: requireEnv("GRAU_BASE_URL").replace(/\/+$/, ""), auth: () => token });
  const email = `sdk-hey-api-${crypto.randomUUID()}@example.com`;

  await step("register (createUser) -> 201", async () => {
    const { data, response } = await answered(createUser({ body: { email, password: PASSWORD } }));
    assertEqual(response.status, 201, "status");
    assertEqual(data?.email, email, "email");
  });

  await step("log in (login) -> a bearer token", async () => {
    const { data } = await login({ body: { email, password: PASSWORD } });
    assert(data, "no token pair");
    assertEqual(data.token_type, "bearer", "token_type");
    token = data.access_token;
  });

  const made = await step("create a body stat (createBodyStat) -> 201 + ETag", async () => {
    const { data, response } = await answered(createBodyStat({
      body: { type: "weight", value: 72.5, unit: "kg", recorded_at: "2026-11-20T07:30:00+01:00" },
      headers: { "Idempotency-Key": crypto.randomUUID() },
    }));
    return created(response, data, "/v1/body-stats");
  });
  const path = { stat_id: made.item.id };

  await step("list it in a date range (recorded_from, recorded_to)", async () => {
    const { data } = await listBodyStats({
      query: { recorded_from: "2026-11-20T00:00:00Z", recorded_to: "2026-11-21T00:00:00Z" },
    });
    const ids = (data?.items ?? []).map((stat: BodyStat) => stat.id);
    assertEqual(JSON.stringify(ids), JSON.stringify([made.item.id]), "item ids");
  });

  await step("read it (getBodyStat) -> the ETag of the create", async () => {
    const { data, response } = await answered(getBodyStat({ path }));
    assertEqual(data?.value, 72.5, "value");
    assertEqual(etagOf(response), made.etag, "ETag");
  });

  const updated = await step("update with If-Match (updateBodyStat) -> 200, new ETag", async () => {
    const { data, error, response } = await answered(updateBodyStat({
      path,
      body: { type: "weight", value: 71.9, unit: "kg" },
      headers: { "If-Match": made.etag },
    }));
    assertEqual(response.status, 200, `status (${JSON.stringify(error)})`);
    assertEqual(data?.value, 71.9, "value");
    assert(etagOf(response) !== made.etag, "ETag did not change");
    return etagOf(response);
  });

  await step("update with the stale If-Match -> a typed 412 problem", async () => {
    const { error, response } = await answered(updateBodyStat({
      path,
      body: { type: "weight", value: 70, unit: "kg" },
      headers: { "If-Match": made.etag },
    }));
    assertEqual(response.status, 412, "status");
    const problem: Problem | undefined = error;
    assertEqual(problem?.title, "Precondition Failed", "problem title");
  });

  await step("daily nutrition totals (date_from, date_to) -> every day", async () => {
    const { data } = await getNutritionDailyTotals({
      query: { date_from: "2026-11-20", date_to: "2026-11-22" },
    });
    assertEqual(data?.days.length, 3, "days");
    assertEqual(data?.date_to, "2026-11-22", "date_to");
  });

  await step("delete with If-Match (deleteBodyStat) -> 204, then 404", async () => {
    const { response } = await answered(deleteBodyStat({ path, headers: { "If-Match": updated } }));
    assertEqual(response.status, 204, "status");
    assertEqual((await answered(getBodyStat({ path }))).response.status, 404, "status after delete");
  });
}

void run("hey-api client scenario (build/sdk/hey-api)", scenario);
