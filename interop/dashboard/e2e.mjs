// The operator dashboard in a real browser (Debian's chromium driven by playwright-core),
// run by crates/claimd/tests/dashboard_e2e.rs against `claimd serve --dev`, in two phases:
//
//   setup: sign in; create a schema (with a preview), a partner (inline JWKS), an issuer and
//          a program through the forms; print their ids as one JSON line.
//   watch: (the test has issued a credential through the partner API) see it reach ONCHAIN
//          on the overview and its own page, verify it, revoke it and see REMOVE; check that
//          a form with a wrong CSRF token and a request without one change nothing; sign out;
//          see the session expire.
//
// Environment: CLAIMD_URL, ADMIN_TOKEN, SCREENSHOTS (directory), and for setup PARTNER_JWKS,
// for watch HASH, EMAIL, SESSION_SECS. Exit 0 when every step held; a failed step throws.
import { chromium } from "playwright-core";
import { join } from "node:path";

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
  await page.getByRole("button", { name: "Verify against the chain" }).click();
  await page.getByRole("status").filter({ hasText: "Verification: valid." }).waitFor();
  await shot(page, "credential");

  await page.getByRole("button", { name: "Revoke credential" }).click();
  await page.getByRole("status").filter({ hasText: "Revoked" }).waitFor();
  check((await page.locator("#vc-status").textContent()) === "WAIT_REMOVE", "revoked: WAIT_REMOVE");
  await until(
    page,
    `/dashboard/credentials/${hash}`,
    async (p) => (await p.locator("#vc-status").textContent()) === "REMOVE",
    "the revocation to be on chain",
  );

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
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  page.setDefaultTimeout(15000);
  if (phase === "setup") await setup(page);
  else if (phase === "watch") await watch(page, context);
  else throw new Error(`unknown phase ${phase}`);
} finally {
  await browser.close();
}
