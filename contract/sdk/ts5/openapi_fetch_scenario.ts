/**
 * Uses openapi-fetch with the types openapi-typescript generates
 * (build/sdk/openapi-typescript/schema.d.ts; the most used pair on npm) against the
 * grau at GRAU_BASE_URL: register, log in, create a body stat, list it in a date range,
 * read it, update it with If-Match, see a stale If-Match come back as a typed 412
 * problem, read the daily nutrition totals and delete the stat. Run by
 * contract/sdk/check.sh (`make sdk-check`).
 */
import createClient, { type Middleware } from "openapi-fetch";
import type { components, paths } from "../../../build/sdk/openapi-typescript/schema.js";
import { assert, assertEqual, created, etagOf, requireEnv, run, step } from "../typescript/runner.js";

type BodyStat = components["schemas"]["BodyStat"];
type Problem = components["schemas"]["Problem"];
const PASSWORD = "correct horse battery staple";


async function scenario(): Promise<void> {
  const api = createClient<paths>({ baseUrl: requireEnv("GRAU_BASE_URL").replace(/\/+$/, "") });
  let token = "";
  const bearer: Middleware = {
    onRequest({ request }) {
      if (token) request.headers.set("Authorization", `Bearer ${token}`);
      return request;
    },
  };
  api.use(bearer);
  const email = `sdk-openapi-fetch-${crypto.randomUUID()}@example.com`;

  await step("register (POST /v1/users) -> 201", async () => {
    const { data, response } = await api.POST("/v1/users", { body: { email, password: PASSWORD } });
    assertEqual(response.status, 201, "status");
    assertEqual(data?.email, email, "email");
  });

  await step("log in (POST /v1/auth/login) -> a bearer token", async () => {
    const { data } = await api.POST("/v1/auth/login", { body: { email, password: PASSWORD } });
    assert(data, "no token pair");
    assertEqual(data.token_type, "bearer", "token_type");
    token = data.access_token;
  });

  const made = await step("create a body stat -> 201 + ETag", async () => {
    const { data, response } = await api.POST("/v1/body-stats", {
      body: { type: "weight", value: 72.5, unit: "kg", recorded_at: "2026-11-20T07:30:00+01:00" },
      params: { header: { "Idempotency-Key": crypto.randomUUID() } },
    });
    return created(response, data, "/v1/body-stats");
  });
  const path = { stat_id: made.item.id };

  await step("list it in a date range (recorded_from, recorded_to)", async () => {
    const { data } = await api.GET("/v1/body-stats", {
      params: { query: { recorded_from: "2026-11-20T00:00:00Z", recorded_to: "2026-11-21T00:00:00Z" } },
    });
    const ids = (data?.items ?? []).map((stat: BodyStat) => stat.id);
    assertEqual(JSON.stringify(ids), JSON.stringify([made.item.id]), "item ids");
  });

  await step("read it -> the ETag of the create", async () => {
    const { data, response } = await api.GET("/v1/body-stats/{stat_id}", { params: { path } });
    assertEqual(data?.value, 72.5, "value");
    assertEqual(etagOf(response), made.etag, "ETag");
  });

  const updated = await step("update with If-Match -> 200, new ETag", async () => {
    const { data, error, response } = await api.PATCH("/v1/body-stats/{stat_id}", {
      params: { path, header: { "If-Match": made.etag } },
      body: { type: "weight", value: 71.9, unit: "kg" },
    });
    assertEqual(response.status, 200, `status (${JSON.stringify(error)})`);
    assertEqual(data?.value, 71.9, "value");
    assert(etagOf(response) !== made.etag, "ETag did not change");
    return etagOf(response);
  });

  await step("update with the stale If-Match -> a typed 412 problem", async () => {
    const { error, response } = await api.PATCH("/v1/body-stats/{stat_id}", {
      params: { path, header: { "If-Match": made.etag } },
      body: { type: "weight", value: 70, unit: "kg" },
    });
    assertEqual(response.status, 412, "status");
    const problem: Problem | undefined = error;
    assertEqual(problem?.title, "Precondition Failed", "problem title");
  });

  await step("daily nutrition totals (date_from, date_to) -> every day", async () => {
    const { data } = await api.GET("/v1/nutrition-entries/daily-totals", {
      params: { query: { date_from: "2026-11-20", date_to: "2026-11-22" } },
    });
    assertEqual(data?.days.length, 3, "days");
    assertEqual(data?.date_to, "2026-11-22", "date_to");
  });

  await step("delete with If-Match -> 204, then 404", async () => {
    const { response } = await api.DELETE("/v1/body-stats/{stat_id}", {
      params: { path, header: { "If-Match": updated } },
    });
    assertEqual(response.status, 204, "status");
    const after = await api.GET("/v1/body-stats/{stat_id}", { params: { path } });
    assertEqual(after.response.status, 404, "status after delete");
  });
}

void run("openapi-fetch scenario (build/sdk/openapi-typescript)", scenario);
