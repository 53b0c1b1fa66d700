/**
 * Uses the generated TypeScript client (build/sdk/typescript/Api.ts) against
 * the grau at GRAU_BASE_URL: register, log in, then create, list, read, update
 * (If-Match) and delete a body stat, plus a stale If-Match that must surface as
 * a typed 412 problem; then an offline round: a sync from scratch, an offline
 * push in one batch, and a delta sync; then a Strong export imported twice (the
 * second adds nothing) and everything exported. Run by contract/sdk/check.sh
 * (`make sdk-check`).
 */
import {
  Api,
  BatchOperationMethod,
  type BodyStat,
  BodyStatType,
  BodyStatUnit,
  type HttpResponse,
  type Problem,
} from "../../../build/sdk/typescript/Api.js";
import { assert, assertEqual, CheckFailed, etagOf, requireEnv, run, sleep, step } from "./runner.js";

const PASSWORD = "correct horse battery staple";

/**
 * The client rejects a non-2xx answer with the same typed HttpResponse; return its
 * problem. (Reads also document a body-less 304, hence `void` in their error type.)
 */
async function expectProblem<D>(
  call: Promise<HttpResponse<D, Problem | void>>,
  status: number,
): Promise<Problem> {
  let response: HttpResponse<D, Problem | void>;
  try {
    response = await call;
  } catch (thrown) {
    if (!(thrown instanceof Response)) throw thrown;
    const failed = thrown as HttpResponse<D, Problem | void>;
    assertEqual(failed.status, status, "status");
    const problem = failed.error;
    assert(problem, `no problem body with the ${status}`);
    assertEqual(problem.status, status, "problem status");
    return problem;
  }
  throw new CheckFailed(`expected ${status}, got ${response.status}`);
}

/** Registration and login are rate limited; other contract checks may have used the budget. */
async function retryOnceIfRateLimited<D, E>(
  call: () => Promise<HttpResponse<D, E>>,
): Promise<HttpResponse<D, E>> {
  try {
    return await call();
  } catch (thrown) {
    if (!(thrown instanceof Response) || thrown.status !== 429) throw thrown;
    const seconds = Math.min(Number(thrown.headers.get("Retry-After") ?? "5"), 65);
    console.log(`  ..    429, retrying in ${seconds}s`);
    await sleep(seconds);
    return call();
  }
}


async function scenario(): Promise<void> {
  const api = new Api<string>({
    baseUrl: requireEnv("GRAU_BASE_URL").replace(/\/+$/, ""),
    securityWorker: (token) => (token ? { headers: { Authorization: `Bearer ${token}` } } : {}),
  });
  const email = `sdk-ts-${crypto.randomUUID()}@example.com`;

  await step("register (POST /v1/users) -> 201", async () => {
    const res = await retryOnceIfRateLimited(() => api.v1.createUser({ email, password: PASSWORD }));
    assertEqual(res.status, 201, "status");
    assertEqual(res.data.email, email, "email");
  });

  await step("log in (POST /v1/auth/login) -> 200 bearer token", async () => {
    const res = await retryOnceIfRateLimited(() => api.v1.login({ email, password: PASSWORD }));
    assertEqual(res.data.token_type, "bearer", "token_type");
    assert(res.data.access_token, "no access_token");
    api.setSecurityData(res.data.access_token);
  });

  const recordedAt = "2026-11-20T07:30:00+01:00";
  const created = await step("create a body stat -> 201 + Location + ETag", async () => {
    const res = await api.v1.createBodyStat(
      { type: BodyStatType.Weight, value: 72.5, unit: BodyStatUnit.Kg, recorded_at: recordedAt, note: "from the TS SDK" },
      { headers: { "Idempotency-Key": crypto.randomUUID() } },
    );
    assertEqual(res.status, 201, "status");
    assert(res.data.id, "no id");
    assertEqual(res.headers.get("Location"), `/v1/body-stats/${res.data.id}`, "Location");
    assertEqual(res.data.value, 72.5, "value");
    assertEqual(res.data.unit, "kg", "unit");
    assertEqual(Date.parse(res.data.recorded_at ?? ""), Date.parse(recordedAt), "recorded_at");
    return { id: res.data.id, etag: etagOf(res) };
  });
  const statId = created.id;

  await step("list body stats (type=weight) -> the new stat", async () => {
    const res = await api.v1.listBodyStats({ type: "weight", page_size: 10 });
    const ids = (res.data.items ?? []).map((stat: BodyStat) => stat.id);
    assertEqual(JSON.stringify(ids), JSON.stringify([statId]), "item ids");
    assertEqual(res.data.pagination?.total, 1, "pagination.total");
  });

  await step("get it -> 200, same ETag as the create", async () => {
    const res = await api.v1.getBodyStat(statId);
    assertEqual(res.data.note, "from the TS SDK", "note");
    assertEqual(etagOf(res), created.etag, "ETag");
  });

  const updatedEtag = await step("update with If-Match -> 200, new value, new ETag", async () => {
    const res = await api.v1.updateBodyStat(
      statId,
      { type: BodyStatType.Weight, value: 71.9, unit: BodyStatUnit.Kg },
      { headers: { "If-Match": created.etag } },
    );
    assertEqual(res.data.value, 71.9, "value");
    assertEqual(res.data.type, "weight", "type (unchanged)");
    assert(etagOf(res) !== created.etag, "ETag did not change");
    return etagOf(res);
  });

  await step("update with the stale If-Match -> typed 412 problem, nothing changed", async () => {
    const problem = await expectProblem(
      api.v1.updateBodyStat(statId, { type: BodyStatType.Weight, value: 70, unit: BodyStatUnit.Kg }, { headers: { "If-Match": created.etag } }),
      412,
    );
    assertEqual(problem.title, "Precondition Failed", "problem title");
    assertEqual((await api.v1.getBodyStat(statId)).data.value, 71.9, "value after 412");
  });

  await step("delete with If-Match -> 204, then get -> 404 problem", async () => {
    const res = await api.v1.deleteBodyStat(statId, { headers: { "If-Match": updatedEtag } });
    assertEqual(res.status, 204, "status");
    await expectProblem(api.v1.getBodyStat(statId), 404);
  });

  const cursor = await step("sync from scratch (GET /v1/changes) -> a cursor", async () => {
    const res = await api.v1.listChanges();
    assertEqual(res.data.has_more, false, "has_more");
    assert(res.data.next_cursor, "no next_cursor");
    return res.data.next_cursor;
  });

  const offlineId = crypto.randomUUID();
  await step("offline push (POST /v1/batch, atomic) -> created under the app's id, edited", async () => {
    const res = await api.v1.runBatch({
      atomic: true,
      operations: [
        {
          method: BatchOperationMethod.POST,
          path: "/v1/body-stats",
          body: { id: offlineId, type: BodyStatType.Weight, value: 70.4, unit: BodyStatUnit.Kg, recorded_at: recordedAt },
        },
        { method: BatchOperationMethod.PATCH, path: `/v1/body-stats/${offlineId}`, body: { note: "edited offline" } },
      ],
    });
    assertEqual(res.data.committed, true, "committed");
    assertEqual(JSON.stringify(res.data.results.map((r) => r.status)), "[201,200]", "statuses");
  });

  await step("delta sync (GET /v1/changes?cursor=) -> just the pushed stat, as edited", async () => {
    const res = await api.v1.listChanges({ cursor });
    // Deletions numbered after the first sync's last item may come too (the stat deleted
    // above): dropping an item the app does not have is a no-op.
    const upserts = res.data.changes.filter((c) => c.op === "upsert");
    const seen = upserts.map((c) => `${c.resource} ${c.id}`);
    assertEqual(JSON.stringify(seen), JSON.stringify([`body_stat ${offlineId}`]), "upserts");
    assertEqual(upserts[0]?.data?.note, "edited offline", "note");
  });

  const strongCsv = [
    "Date,Workout Name,Duration,Exercise Name,Set Order,Weight,Reps,Distance,Seconds,Notes,Workout Notes,RPE",
    '2024-03-04 18:30:00,"Push",52m,"Bench Press (Barbell)",1,80,5,0,0,"","",8',
    '2024-03-04 18:30:00,"Push",52m,"Pull Up",1,0,8,0,0,"","",',
    '2024-03-06 07:15:00,"Run",31m,"Running",1,0,0,5,1860,"Easy pace","",',
    "",
  ].join("\n");
  const upload = () => ({ file: new File([strongCsv], "strong.csv", { type: "text/csv" }) });

  await step("import a Strong export (POST /v1/imports) -> 2 workouts, 3 sets", async () => {
    const res = await api.v1.importData({ source: "strong" }, upload());
    assertEqual(res.data.created.workouts, 2, "workouts");
    assertEqual(res.data.created.workout_sets, 3, "sets");
    assertEqual(res.data.errors.length, 0, "errors");
  });

  await step("the same file again -> nothing new, both workouts skipped", async () => {
    const res = await api.v1.importData({ source: "strong" }, upload());
    assertEqual(res.data.created.workouts, 0, "created");
    assertEqual(res.data.skipped.workouts, 2, "skipped");
  });

  await step("export everything (GET /v1/export) -> the imported workouts", async () => {
    const res = await api.v1.exportData();
    assertEqual(res.data.format, "grau-export", "format");
    assertEqual(res.data.workouts.reduce((n, w) => n + w.sets.length, 0), 3, "sets");
  });

  await step("delete the account -> 204", async () => {
    assertEqual((await api.v1.deleteCurrentUser()).status, 204, "status");
  });
}

void run("TypeScript SDK (swagger-typescript-api) against GRAU_BASE_URL", scenario);
