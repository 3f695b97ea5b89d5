// The operator dashboard in a real browser (Debian's chromium driven by playwright-core),
// run by crates/claimd/tests/dashboard_e2e.rs against `claimd serve --dev`, in two phases:
//
//   setup: sign in; create a schema (with a preview), a partner (inline JWKS), an issuer and
//          a program through the forms; print their ids as one JSON line.
//   watch: (the test has issued a credential through the partner API) see it reach ONCHAIN
//          on the overview and its own page, with its status history and its transaction
//          linked to the block explorer; verify it, revoke it and see REMOVE in the history;
//          upload a CSV for bulk issuance, watch the job finish and download its results;
//          add a webhook endpoint before the revocation and see its deliveries, replay one;
//          check that a form with a wrong CSRF token and a request without one change
//          nothing; sign out; see the session expire. No page may break the CSP.
//
// Environment: CLAIMD_URL, ADMIN_TOKEN, SCREENSHOTS (directory), and for setup PARTNER_JWKS,
// for watch HASH, EMAIL, PROGRAM, EXPLORER (the configured tx URL template), SESSION_SECS.
// Exit 0 when every step held; a failed step throws.
import { chromium } from "playwright-core";
import { join } from "node:path";
import { readFileSync } from "node:fs";

const url = process.env.CLAIMD_URL;
const token = process.env.ADMIN_TOKEN;
const shots = process.env.SCREENSHOTS;
const phase = process.argv[2];

function check(cond, what) {
  if (!cond) throw new Error(`check failed: ${what}`);
}

async function shot(page, name) {
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
}

async function signIn(page) {
  await page.goto(`${url}/dashboard/`);
  check(page.url().includes("/dashboard/login"), "an unsigned visit lands on the sign-in page");
  await page.getByLabel("Admin token").fill(token);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL(`${url}/dashboard/`);
  return Date.now();
}

/// Reloads `path` until `predicate(page)` holds, for at most `secs` seconds.
async function until(page, path, predicate, what, secs = 60) {
  const end = Date.now() + secs * 1000;
  for (;;) {
    await page.goto(`${url}${path}`);
    if (await predicate(page)) return;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await page.waitForTimeout(500);
  }
}

async function refusedCsrf(page) {
  return (await page.locator("h1").textContent()) === "Form refused";
}

async function setup(page) {
  await page.goto(`${url}/dashboard/`);
  await shot(page, "sign-in");
  await signIn(page);

  // Schema: two attributes (the second row added by the editor's button), preview, create.
  await page.goto(`${url}/dashboard/schemas`);
  await page.getByLabel("Title").fill("Membership");
  await page.getByLabel("Credential type (e.g. Membership)").fill("Membership");
  await page.getByLabel("Attribute 1 name").fill("age");
  await page.getByLabel("Attribute 1 type").selectOption("integer");
  await page.getByLabel("Attribute 1 required").check();
  await page.getByLabel("Attribute 2 name").fill("isMember");
  await page.getByLabel("Attribute 2 type").selectOption("boolean");
  const before = await page.locator("#attr-rows tr").count();
  await page.getByRole("button", { name: "Add an attribute" }).click();
  check((await page.locator("#attr-rows tr").count()) === before + 1, "the editor adds a row");
  await page.getByRole("button", { name: "Preview documents" }).click();
  await page.getByRole("heading", { name: "Preview" }).waitFor();
  const preview = await page.locator("main").textContent();
  check(preview.includes('"isMember"') && preview.includes("xsd:boolean"), "the preview shows both documents");
  await shot(page, "schemas");
  await page.getByRole("button", { name: "Create schema" }).click();
  await page.waitForURL(/\/dashboard\/schemas\/[0-9a-f-]{36}$/);
  const schemaId = page.url().split("/").pop();
  await shot(page, "schema");

  // Partner with an inline JWKS, allowed every schema.
  await page.goto(`${url}/dashboard/partners`);
  await page.getByLabel("Name").fill("Acme");
  await page.getByLabel("Inline JWKS (JSON)").fill(process.env.PARTNER_JWKS);
  await page.getByLabel("Issue on behalf (POST /v1/credentials/issue-on-behalf)").check();
  await page.getByRole("button", { name: "Register partner" }).click();
  await page.waitForURL(/\/dashboard\/partners\/[0-9a-f-]{36}$/);
  const partnerId = page.url().split("/").pop();
  await shot(page, "partner");

  // An error from the operator API is shown in words.
  await page.goto(`${url}/dashboard/issuers`);
  await page.getByLabel("Name").fill("Nobody's issuer");
  await page.getByRole("button", { name: "Create issuer" }).click();
  const alert = await page.getByRole("alert").textContent();
  check(alert.includes("Invalid field partnerId"), `the refusal is shown: ${alert}`);

  await page.getByLabel("Partner").selectOption(partnerId);
  await page.getByLabel("Name").fill("Acme issuer");
  await page.getByRole("button", { name: "Create issuer" }).click();
  await page.waitForURL(/\/dashboard\/issuers\/did/);
  const issuerDid = decodeURIComponent(page.url().split("/").pop());

  await page.goto(`${url}/dashboard/programs`);
  await page.getByLabel("Issuer").selectOption(issuerDid);
  await page.getByLabel("Schema").selectOption(schemaId);
  await page.getByLabel("Name").fill("Members");
  await page.getByLabel("Most credentials (optional)").fill("1000");
  await page.getByLabel("Credentials expire after (days, optional)").fill("365");
  await page.getByRole("button", { name: "Create program" }).click();
  await page.waitForURL(/\/dashboard\/programs\/[^/]+$/);
  const programId = decodeURIComponent(page.url().split("/").pop());
  await shot(page, "program");
  await page.goto(`${url}/dashboard/programs`);
  await shot(page, "programs");

  console.log(JSON.stringify({ schemaId, partnerId, issuerDid, programId }));
}

async function watch(page, context) {
  const hash = process.env.HASH;
  const signedAt = await signIn(page);

  await until(
    page,
    "/dashboard/",
    async (p) => (await p.locator('[data-count="onchain"]').textContent()) === "1",
    "the overview to count one credential on chain",
  );
  check((await page.locator('[data-count="issued"]').textContent()) === "1", "one issued");
  await shot(page, "overview");

  await page.goto(`${url}/dashboard/credentials`);
  await page.getByLabel("User address").fill(process.env.EMAIL);
  await page.getByRole("button", { name: "Search" }).click();
  await page.getByRole("link", { name: hash }).waitFor();
  await shot(page, "credentials");
  await page.getByRole("link", { name: hash }).click();
  await page.waitForURL(`${url}/dashboard/credentials/${hash}`);
  check((await page.locator("#vc-status").textContent()) === "ONCHAIN", "the credential page reads ONCHAIN");
  // The history names the transaction, linked to the explorer without opener or referrer.
  const history = page.locator("table", { has: page.locator("caption", { hasText: "Status history" }) });
  check((await history.textContent()).includes("Accepted (issued)"), "the history starts with the acceptance");
  const onchainRow = history.locator("tr", { hasText: "On chain" });
  const txLink = onchainRow.locator("a.tx");
  const href = await txLink.getAttribute("href");
  const tx = (await txLink.textContent()).trim();
  check(/^0x[0-9a-f]{64}$/.test(tx), `a transaction hash: ${tx}`);
  check(href === process.env.EXPLORER.replace("{txHash}", tx), `the explorer link: ${href}`);
  check((await txLink.getAttribute("rel")) === "noopener noreferrer", "the link has rel=noopener noreferrer");
  await page.getByRole("button", { name: "Verify against the chain" }).click();
  await page.getByRole("status").filter({ hasText: "Verification: valid." }).waitFor();
  await shot(page, "credential");

  const hookPartner = await addEndpoint(page, context);
  await page.goto(`${url}/dashboard/credentials/${hash}`);
  await page.getByRole("button", { name: "Revoke credential" }).click();
  await page.getByRole("status").filter({ hasText: "Revoked" }).waitFor();
  check((await page.locator("#vc-status").textContent()) === "WAIT_REMOVE", "revoked: WAIT_REMOVE");
  await until(
    page,
    `/dashboard/credentials/${hash}`,
    async (p) => (await p.locator("#vc-status").textContent()) === "REMOVE",
    "the revocation to be on chain",
  );
  const changes = await page.locator("table", { has: page.locator("caption", { hasText: "Status history" }) }).textContent();
  check(
    changes.includes("Revocation requested") && changes.includes("Removed (revocation on chain)"),
    `the history has the revocation: ${changes}`,
  );

  await bulk(page);
  await deliveries(page, hookPartner);

  const issuers = await (await context.request.get(`${url}/admin/v1/issuers`, {
    headers: { authorization: `Bearer ${token}` },
  })).json();
  await page.goto(`${url}/dashboard/issuers/${encodeURIComponent(issuers.items[0].issuerDid)}`);
  check((await page.locator("main").textContent()).includes("CONFIRMED"), "the issuer lists confirmed transitions");
  await shot(page, "issuer");
  await page.goto(`${url}/dashboard/partners`);
  await shot(page, "partners");

  // CSRF: a form whose token was altered, and a post without one, change nothing.
  await page.goto(`${url}/dashboard/consent`);
  await page.getByLabel("User address").fill(process.env.EMAIL);
  await page.evaluate(() => {
    document.querySelector('main form input[name="_csrf"]').value = "0".repeat(64);
  });
  await page.getByRole("button", { name: "Record consent" }).click();
  check(await refusedCsrf(page), "a wrong CSRF token is refused");
  const bare = await context.request.post(`${url}/dashboard/consent`, {
    form: { email: process.env.EMAIL, partnerId: "x", status: "rejected" },
    maxRedirects: 0,
  });
  check(bare.status() === 403, `a post without a token is 403, got ${bare.status()}`);
  await page.goto(`${url}/dashboard/consent`);
  check((await page.locator("main").textContent()).includes("Consent records: none yet."), "no consent was recorded");
  await shot(page, "consent");

  // Sign out, in a second session; the first one stays until it expires.
  const other = await context.browser().newContext();
  const page2 = await other.newPage();
  await signIn(page2);
  await page2.getByRole("button", { name: "Sign out" }).click();
  await page2.getByText("You are signed out.").waitFor();
  await page2.goto(`${url}/dashboard/`);
  check(page2.url().includes("/dashboard/login"), "signed out: back to sign-in");
  await other.close();

  // Expiry: past the session's lifetime, the next page asks to sign in again.
  const wait = signedAt + Number(process.env.SESSION_SECS) * 1000 + 1500 - Date.now();
  if (wait > 0) await page.waitForTimeout(wait);
  await page.goto(`${url}/dashboard/credentials`);
  check(page.url().endsWith("/dashboard/login?reason=expired"), `expired: ${page.url()}`);
  await page.getByText("Your session expired. Sign in again.").waitFor();
  console.log(JSON.stringify({ ok: true }));
}

// Bulk issuance: upload a small CSV for the program, watch the job page (refreshed by the
// dashboard's script) reach COMPLETED, download the results.
async function bulk(page) {
  await page.goto(`${url}/dashboard/bulk`);
  await page.getByLabel("Program").selectOption(process.env.PROGRAM);
  const rows = ["email,age,isMember", "bulk1@example.org,21,true", "bulk2@example.org,35,false", "not-an-email,40,true"];
  await page.getByLabel("File (CSV or JSON Lines)").setInputFiles({
    name: "members.csv",
    mimeType: "text/csv",
    buffer: Buffer.from(rows.join("\n") + "\n"),
  });
  await page.getByRole("button", { name: "Upload and start" }).click();
  await page.waitForURL(/\/dashboard\/bulk\/[0-9a-f-]{36}$/);
  const jobUrl = page.url();
  // No reload from here: the script swaps the progress in and reloads once at the end.
  await page.locator('#bulk-progress[data-final="true"]').waitFor({ timeout: 60000 });
  check((await page.locator("#job-state").textContent()) === "COMPLETED", "the job completed");
  check((await page.locator('[data-count="issued"]').textContent()) === "2", "two rows issued");
  check((await page.locator('[data-count="invalid"]').textContent()) === "1", "one row invalid");
  check(page.url() === jobUrl, "still on the job page");
  await shot(page, "bulk-job");
  const [download] = await Promise.all([
    page.waitForEvent("download"),
    page.getByRole("link", { name: "Download the results (CSV)" }).click(),
  ]);
  const csv = readFileSync(await download.path(), "utf8").trim().split("\n");
  check(csv[0] === "row,email,status,coreClaimHash,error", `the results header: ${csv[0]}`);
  check(csv.length === 4 && csv.filter((l) => l.includes(",ISSUED,")).length === 2, `the results: ${csv}`);
  await page.goto(`${url}/dashboard/bulk`);
  await shot(page, "bulk");
}

// Webhooks: add an endpoint to the partner (the secret is shown once), disable and enable it.
// Its receiver is a closed loopback port, so every delivery attempt fails and is recorded.
async function addEndpoint(page, context) {
  const partners = await (await context.request.get(`${url}/admin/v1/partners`, {
    headers: { authorization: `Bearer ${token}` },
  })).json();
  const partnerId = partners.items[0].partnerId;
  await page.goto(`${url}/dashboard/webhooks`);
  await page.getByRole("link", { name: partners.items[0].name }).click();
  await page.waitForURL(`${url}/dashboard/partners/${partnerId}/webhooks`);
  await page.getByLabel("Endpoint URL (https)").fill("http://127.0.0.1:9/hooks/claimd");
  await page.getByRole("button", { name: "Add endpoint" }).click();
  await page.getByRole("status").filter({ hasText: "Endpoint added." }).waitFor();
  const secret = await page.getByLabel(/^Secret of/).inputValue();
  check(/^whsec_/.test(secret), `the secret is shown once: ${secret}`);
  await page.getByRole("button", { name: "Disable" }).click();
  await page.getByRole("status").filter({ hasText: "Endpoint disabled" }).waitFor();
  check((await page.getByLabel(/^Secret of/).count()) === 0, "the secret is not shown again");
  await page.getByRole("button", { name: "Enable" }).click();
  await page.getByRole("status").filter({ hasText: "Endpoint enabled." }).waitFor();
  await shot(page, "webhooks");
  return partnerId;
}

// The endpoint's deliveries (the revocation's two events), the first with its failed attempt;
// replay one.
async function deliveries(page, partnerId) {
  await page.goto(`${url}/dashboard/partners/${partnerId}/webhooks`);
  await page.getByRole("link", { name: "Deliveries" }).click();
  await page.waitForURL(/\/webhooks\/[0-9a-f-]{36}$/);
  const here = page.url();
  await until(
    page,
    here.slice(url.length),
    // Deliveries of one credential go in order: the second waits while the first retries.
    async (p) =>
      (await p.locator("main").textContent()).includes("credential.removed") &&
      (await p.locator("details summary").count()) >= 1,
    "both deliveries listed, the first attempted",
  );
  const table = await page.locator("main table").first().textContent();
  check(table.includes("credential.revocation_requested") && table.includes("credential.removed"), `the deliveries: ${table}`);
  await page.locator("details summary").first().click();
  await shot(page, "webhook-deliveries");
  await page.getByRole("button", { name: "Replay", exact: true }).first().click();
  await page.getByRole("status").filter({ hasText: "Queued 1 event for delivery again." }).waitFor();
  await page.getByLabel("Delivery state").selectOption("DELIVERED");
  await page.getByRole("button", { name: "Show" }).click();
  check((await page.locator("main").textContent()).includes("none yet"), "nothing was delivered to a closed port");
}

// playwright-core starts the browser on a fresh, temporary --user-data-dir of its own and
// deletes it on close (it refuses one passed in `args`).
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, acceptDownloads: true });
  const page = await context.newPage();
  // Anything the Content-Security-Policy blocks shows up as a console error.
  const violations = [];
  page.on("console", (m) => {
    if (m.type() === "error" && /Content.Security.Policy/i.test(m.text())) violations.push(m.text());
  });
  page.setDefaultTimeout(15000);
  if (phase === "setup") await setup(page);
  else if (phase === "watch") await watch(page, context);
  else throw new Error(`unknown phase ${phase}`);
  check(violations.length === 0, `no CSP violations: ${violations.join("; ")}`);
} finally {
  await browser.close();
}
